using PkiService.Core.Errors;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace PkiService.Api.Features.Crl;

/// <summary>CRLs for relying parties: no authentication, served from the publisher's cache with HTTP validators.</summary>
public static class CrlEndpoints
{
    /// <summary>RFC 2585 4.2: the media type of a DER CRL.</summary>
    public const string PkixCrl = "application/pkix-crl";
    public const string PemFile = "application/x-pem-file";

    public static IEndpointRouteBuilder MapCrlEndpoints(this IEndpointRouteBuilder app)
    {
        var pki = app.MapGroup("/pki").WithTags("CRLs").AllowAnonymous().RequireRateLimiting(Infrastructure.RequestProtection.PublicPolicy);

        pki.MapGet("/crl", (HttpContext http, CrlPublisher publisher, IOptions<CrlOptions> options, TimeProvider time) =>
                ServeAsync(http, publisher, options.Value, time, set => set.Issuing, c => c.Crl.Der, PkixCrl))
            .WithName("GetCrl").WithSummary("Issuing CA's current full CRL, DER (the CDP URL in every certificate)")
            .Produces(200, contentType: PkixCrl).Produces(304);
        pki.MapGet("/crl.pem", (HttpContext http, CrlPublisher publisher, IOptions<CrlOptions> options, TimeProvider time) =>
                ServeAsync(http, publisher, options.Value, time, set => set.Issuing, c => System.Text.Encoding.ASCII.GetBytes(c.Pem), PemFile))
            .WithName("GetCrlPem").WithSummary("Issuing CA's current full CRL, PEM")
            .Produces(200, contentType: PemFile).Produces(304);
        pki.MapGet("/delta.crl", (HttpContext http, CrlPublisher publisher, IOptions<CrlOptions> options, TimeProvider time) =>
                ServeAsync(http, publisher, options.Value, time, set => set.Delta, c => c.Crl.Der, PkixCrl))
            .WithName("GetDeltaCrl").WithSummary("Issuing CA's current delta CRL, DER (RFC 5280 5.2.4; the Freshest CRL URL in certificates and in the complete CRL)")
            .Produces(200, contentType: PkixCrl).Produces(304);
        pki.MapGet("/delta.crl.pem", (HttpContext http, CrlPublisher publisher, IOptions<CrlOptions> options, TimeProvider time) =>
                ServeAsync(http, publisher, options.Value, time, set => set.Delta, c => System.Text.Encoding.ASCII.GetBytes(c.Pem), PemFile))
            .WithName("GetDeltaCrlPem").WithSummary("Issuing CA's current delta CRL, PEM")
            .Produces(200, contentType: PemFile).Produces(304);
        pki.MapGet("/root.crl", (HttpContext http, CrlPublisher publisher, IOptions<CrlOptions> options, TimeProvider time) =>
                ServeAsync(http, publisher, options.Value, time, set => set.Root, c => c.Crl.Der, PkixCrl))
            .WithName("GetRootCrl").WithSummary("Root CA's CRL, DER (lists revoked issuing CAs; normally empty)")
            .Produces(200, contentType: PkixCrl).Produces(304);
        pki.MapGet("/crl-bundle.pem", async (HttpContext http, CrlPublisher publisher, IOptions<CrlOptions> options, TimeProvider time) =>
            {
                var set = await publisher.GetCurrentAsync(http.RequestAborted);
                return Serve(http, options.Value, time, set.Issuing, $"\"{set.Issuing.Crl.CrlNumber:X}-{set.Root?.Crl.CrlNumber:X}\"",
                    System.Text.Encoding.ASCII.GetBytes(set.BundlePem), PemFile);
            })
            .WithName("GetCrlBundle").WithSummary("Issuing and root CRLs in one PEM file: the drop-in for nginx ssl_crl and HAProxy crl-file")
            .Produces(200, contentType: PemFile).Produces(304);
        return app;
    }

    private static async Task<IResult> ServeAsync(
        HttpContext http, CrlPublisher publisher, CrlOptions options, TimeProvider time,
        Func<CrlPublisher.CrlSet, PublishedCrl?> select, Func<PublishedCrl, byte[]> body, string contentType)
    {
        var crl = select(await publisher.GetCurrentAsync(http.RequestAborted))
            ?? throw new NotFoundException("The root is external (offline) and no root CRL has been uploaded yet; an admin uploads it with PUT /api/v1/root-crl.");
        return Serve(http, options, time, crl, crl.ETag, body(crl), contentType);
    }

    private static IResult Serve(HttpContext http, CrlOptions options, TimeProvider time, PublishedCrl crl, string etag, byte[] body, string contentType)
    {
        var headers = http.Response.GetTypedHeaders();
        headers.ETag = EntityTagHeaderValue.Parse(etag);
        headers.LastModified = crl.ThisUpdate;
        var untilNextUpdate = crl.NextUpdate - time.GetUtcNow();
        var maxAge = untilNextUpdate < options.MaxAgeDuration ? untilNextUpdate : options.MaxAgeDuration;
        headers.CacheControl = new CacheControlHeaderValue { Public = true, MaxAge = maxAge > TimeSpan.Zero ? maxAge : TimeSpan.Zero };
        var requestTags = http.Request.GetTypedHeaders().IfNoneMatch;
        if (requestTags.Any(t => t.Tag == etag || t.Equals(EntityTagHeaderValue.Any)))
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }
        return Results.Bytes(body, contentType);
    }
}
