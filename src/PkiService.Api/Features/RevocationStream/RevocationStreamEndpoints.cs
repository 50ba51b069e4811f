using System.Globalization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Timeouts;

namespace PkiService.Api.Features.RevocationStream;

/// <summary>
/// <c>GET /pki/revocations/stream</c>: revocations pushed to relying parties as Server-Sent Events, public like the CRLs
/// (the stream is unsigned and only ever adds revocations: it can make a client refuse more, never accept more).
/// </summary>
public static class RevocationStreamEndpoints
{
    /// <summary>WHATWG HTML 9.2: the media type of an event stream.</summary>
    public const string EventStream = "text/event-stream";

    public static IEndpointRouteBuilder MapRevocationStreamEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/pki/revocations/stream", StreamAsync)
            .WithTags("CRLs").AllowAnonymous()
            .WithName("GetRevocationStream")
            .WithSummary("Revocations of the issuing CA pushed as Server-Sent Events, resumable with Last-Event-ID (a complete CRL number)")
            .WithDescription("Events 'revoked' (issuer fingerprint, serial, reason, revokedAt; id = this node's newest complete CRL number when sent) " +
                "after a 'ready' event that follows the replay: with Last-Event-ID (header, or query lastEventId) N, the revocations complete " +
                "CRL N may not list, or every revocation of an unexpired certificate when N is unknown or malformed; without it, only new ones. " +
                "': keep-alive' comments at least every RevocationStream:KeepAlive. 503 with Retry-After when RevocationStream:MaxClients streams are open.")
            .Produces(StatusCodes.Status200OK, contentType: EventStream)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            // Per-address request rate as /pki/crl (the fixed window counts connection attempts, it holds nothing while
            // a stream is open); the number of open streams is bounded by RevocationStream:MaxClients instead.
            .RequireRateLimiting(Infrastructure.RequestProtection.PublicPolicy)
            // A stream lasts as long as the client stays: the whole-request timeout would cut every stream after it.
            .DisableRequestTimeout();
        return app;
    }

    private static async Task StreamAsync(HttpContext http, RevocationStreamClients clients, RevocationStreamSession session)
    {
        using var slot = clients.TryEnter();
        if (slot is null)
        {
            // Spread the retries of a crowd turned away at once.
            var seconds = Random.Shared.Next(5, 16);
            http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            await Results.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "This node serves as many revocation streams as it allows (RevocationStream:MaxClients)",
                detail: $"Retry after {seconds} s, or connect to another node; meanwhile use the CRLs at /pki/crl and /pki/delta.crl.").ExecuteAsync(http);
            return;
        }
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await session.RunAsync(http, LastEventId.From(http.Request), http.RequestAborted);
    }
}
