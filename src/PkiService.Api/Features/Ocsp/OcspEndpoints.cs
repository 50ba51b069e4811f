using System.Buffers;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using PkiService.Core.Ocsp;

namespace PkiService.Api.Features.Ocsp;

/// <summary>The RFC 6960 responder over HTTP (appendix A): POST with a DER body, or GET with the request in the URL.</summary>
public static class OcspEndpoints
{
    public const string RequestType = "application/ocsp-request";
    public const string ResponseType = "application/ocsp-response";

    public static IEndpointRouteBuilder MapOcspEndpoints(this IEndpointRouteBuilder app)
    {
        var ocsp = app.MapGroup("/ocsp").WithTags("OCSP").AllowAnonymous().RequireRateLimiting(Infrastructure.RequestProtection.PublicPolicy);

        ocsp.MapPost("/", PostAsync)
            .WithName("OcspPost")
            .WithSummary("OCSP request, DER body (application/ocsp-request)")
            .WithDescription("Answers for the issuing CA and the root. Garbage gets an OCSP malformedRequest response; bodies over 64 KiB get 413.")
            .Accepts<byte[]>(RequestType)
            .Produces(200, contentType: ResponseType)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(OcspResponder.MaxRequestOctets));

        ocsp.MapGet("/{**request}", GetAsync)
            .WithName("OcspGet")
            .WithSummary("OCSP request as URL-encoded base64 of the DER (RFC 6960 A.1); cacheable")
            .Produces(200, contentType: ResponseType);

        return app;
    }

    private static async Task<IResult> PostAsync(HttpContext http, OcspRequestAnswerer answerer)
    {
        // Requests are small (about 100 bytes): read them into a pooled buffer when the length is known.
        if (http.Request.ContentLength is > 0 and <= OcspResponder.MaxRequestOctets and var length)
        {
            var buffer = ArrayPool<byte>.Shared.Rent((int)length);
            try
            {
                try
                {
                    await http.Request.Body.ReadExactlyAsync(buffer.AsMemory(0, (int)length), http.RequestAborted);
                }
                catch (EndOfStreamException)
                {
                    return Results.Bytes(OcspResponder.Rejection(OcspReplyStatus.MalformedRequest).Der, ResponseType);
                }
                var answer = await answerer.AnswerAsync(buffer.AsMemory(0, (int)length), http.RequestAborted);
                return Results.Bytes(answer.Reply.Der, ResponseType);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        using var body = new MemoryStream();
        await http.Request.Body.CopyToAsync(body, http.RequestAborted);
        var streamed = await answerer.AnswerAsync(body.GetBuffer().AsMemory(0, (int)body.Length), http.RequestAborted);
        return Results.Bytes(streamed.Reply.Der, ResponseType);
    }

    private static async Task<IResult> GetAsync(HttpContext http, OcspRequestAnswerer answerer, IOptions<OcspOptions> options, TimeProvider time)
    {
        // The raw path: routing would turn an encoded '/' of the base64 into a segment separator.
        var raw = http.Request.Path.Value ?? string.Empty;
        var encoded = raw.Length > "/ocsp/".Length ? raw["/ocsp/".Length..] : string.Empty;
        var der = DecodeGetRequest(encoded);
        var answer = await answerer.AnswerAsync(der is null ? null : new ReadOnlyMemory<byte>(der), http.RequestAborted);

        var reply = answer.Reply;
        if (answer.ETag is { } etag && reply.ThisUpdate is { } thisUpdate && reply.NextUpdate is { } nextUpdate)
        {
            // RFC 5019 6.2: caching headers for GET, never past nextUpdate.
            var headers = http.Response.GetTypedHeaders();
            headers.ETag = EntityTagHeaderValue.Parse(etag);
            headers.LastModified = thisUpdate;
            var untilNext = nextUpdate - time.GetUtcNow();
            var maxAge = untilNext < options.Value.MaxAgeDuration ? untilNext : options.Value.MaxAgeDuration;
            headers.CacheControl = new CacheControlHeaderValue { Public = true, NoTransform = true, MustRevalidate = true, MaxAge = maxAge > TimeSpan.Zero ? maxAge : TimeSpan.Zero };
            if (http.Request.GetTypedHeaders().IfNoneMatch.Any(t => t.Tag == etag))
            {
                return Results.StatusCode(StatusCodes.Status304NotModified);
            }
        }
        else
        {
            http.Response.Headers.CacheControl = "no-cache";
        }
        return Results.Bytes(reply.Der, ResponseType);
    }

    /// <summary>URL-decodes and base64-decodes a GET request; null when it is not base64 or too large.</summary>
    private static byte[]? DecodeGetRequest(string encoded)
    {
        if (encoded.Length == 0 || encoded.Length > OcspResponder.MaxRequestOctets * 2)
        {
            return null;
        }
        var base64 = Uri.UnescapeDataString(encoded).Replace(' ', '+'); // some clients leave '+' unescaped, which decodes to ' '
        var bytes = new byte[base64.Length];
        return Convert.TryFromBase64String(base64, bytes, out var written) ? bytes[..written] : null;
    }
}
