using System.Security.Cryptography;
using Microsoft.AspNetCore.Mvc;
using PkiService.Api.Features.Renewal;
using PkiService.Api.Infrastructure;
using PkiService.Api.Issuance;
using PkiService.Core.Authorities;
using PkiService.Core.Errors;
using PkiService.Core.Issuance;

namespace PkiService.Api.Features.Est;

/// <summary>
/// EST, RFC 7030 as updated by RFC 8951: translates the wire format to <see cref="TokenIssuance"/> and
/// <see cref="CertificateRenewal"/> and back, nothing more. Served only on the mTLS listener (RFC 7030 3.2.2 requires
/// TLS; <c>simplereenroll</c> needs the TLS client certificate), under <c>/.well-known/est/</c> (profile
/// <c>client</c>) and <c>/.well-known/est/{label}/</c> where the label is a profile name (RFC 7030 3.2.2's optional
/// CA label). Errors are text (<see cref="EstErrors"/>).
/// </summary>
public static class EstEndpoints
{
    /// <summary>RFC 7030 3.2.2: the well-known URI (RFC 8615).</summary>
    public const string BasePath = "/.well-known/est";

    /// <summary>RFC 7030 4.1.3 and 4.2.3 (RFC 8551 3.2.2): the media type of a certs-only answer.</summary>
    public const string CertsOnlyMediaType = "application/pkcs7-mime; smime-type=certs-only";

    /// <summary>The label-less base's profile.</summary>
    public const string DefaultProfile = "client";

    /// <summary>
    /// EST's wording in the issuance's refusals: the token goes in HTTP Basic (RFC 7030 3.2.3) or as a Bearer token,
    /// and each profile has its labelled path.
    /// </summary>
    private static readonly FrontEndHints Hints = new(
        "Send the enrollment token as the password of HTTP Basic authentication (any user name) or as 'Authorization: Bearer <token>'.",
        profile => $"{BasePath}/{profile}/");

    private static readonly string[] Operations = ["cacerts", "simpleenroll", "simplereenroll", "csrattrs", "serverkeygen"];

    public static IEndpointRouteBuilder MapEstEndpoints(this IEndpointRouteBuilder app)
    {
        foreach (var prefix in new[] { BasePath, BasePath + "/{label}" })
        {
            var est = app.MapGroup(prefix)
                .AllowAnonymous() // authenticated by the enrollment token or the TLS client certificate, in issuance
                .ExcludeFromDescription() // a wire protocol of its own (RFC 7030), documented in the README, not JSON
                .WithMetadata(MtlsOnlyMetadata.Instance, PlainTextErrorsMetadata.Instance)
                .AddEndpointFilter(EstErrors.FilterAsync);

            est.MapGet("/cacerts", CaCertificates).RequireRateLimiting(RequestProtection.PublicPolicy);
            est.MapGet("/csrattrs", CsrAttributes).RequireRateLimiting(RequestProtection.PublicPolicy);
            est.MapPost("/simpleenroll", SimpleEnrollAsync)
                .WithMetadata(new RequestSizeLimitAttribute(CsrRequestRules.MaxBodyBytes))
                .RequireRateLimiting(RequestProtection.EnrollmentPolicy);
            est.MapPost("/serverkeygen", ServerKeyGenAsync)
                .WithMetadata(new RequestSizeLimitAttribute(CsrRequestRules.MaxBodyBytes))
                .RequireRateLimiting(RequestProtection.EnrollmentPolicy);
            est.MapPost("/simplereenroll", SimpleReenrollAsync)
                .WithMetadata(new RequestSizeLimitAttribute(CsrRequestRules.MaxBodyBytes))
                .RequireRateLimiting(RequestProtection.RenewalPolicy);
        }

        // Everything else under the base: a text 404 (unknown label or operation) or 405 (known operation, wrong method).
        app.Map(BasePath + "/{**rest}", Unknown)
            .AllowAnonymous()
            .ExcludeFromDescription()
            .WithMetadata(MtlsOnlyMetadata.Instance, PlainTextErrorsMetadata.Instance)
            .RequireRateLimiting(RequestProtection.PublicPolicy);

        return app;
    }

    /// <summary>RFC 7030 4.1: the issuing CA and the root, so a client can build its trust anchor and chain.</summary>
    private static IResult CaCertificates(HttpContext context, CaHierarchy hierarchy)
    {
        ProfileOf(context);
        return new Base64Answer("application/pkcs7-mime", EstCertificates.CertsOnly([.. hierarchy.ChainDer]));
    }

    /// <summary>RFC 7030 4.5: the key type and signature algorithm this service would like.</summary>
    private static IResult CsrAttributes(HttpContext context)
    {
        ProfileOf(context);
        return new Base64Answer("application/csrattrs", EstCsrAttributes.Der);
    }

    /// <summary>RFC 7030 4.2.1: a certificate for the CSR, authenticated by a one-time enrollment token.</summary>
    private static async Task<IResult> SimpleEnrollAsync(HttpContext context, TokenIssuance issuance, CancellationToken cancellationToken)
    {
        var profile = ProfileOf(context);
        var body = await ReadBodyAsync(context.Request, cancellationToken);
        var issued = await issuance.IssueAsync(
            new TokenIssuanceRequest(TokenOf(context), () => CertificationRequest.FromDer(EstRequestBody.DecodeCsr(body)), null, IssuanceProtocol.Est, profile, Hints),
            cancellationToken);
        return new Base64Answer(CertsOnlyMediaType, EstCertificates.CertsOnly(issued.Der));
    }

    /// <summary>
    /// RFC 7030 4.2.2: a new certificate for the certificate presented as the TLS client certificate, with the same
    /// names (checked by <see cref="CertificateRenewal"/>, as for <c>POST /api/v1/renew</c>).
    /// </summary>
    private static async Task<IResult> SimpleReenrollAsync(
        HttpContext context, CertificateRenewal renewal, ClientCertificateSource certificates, CancellationToken cancellationToken)
    {
        var profile = ProfileOf(context);
        var body = await ReadBodyAsync(context.Request, cancellationToken);
        var certificate = await certificates.GetAsync(context, cancellationToken);
        var issued = await renewal.RenewAsync(
            new RenewalRequest(certificate, () => CertificationRequest.FromDer(EstRequestBody.DecodeCsr(body)), null, IssuanceProtocol.Est, profile, Hints),
            cancellationToken);
        return new Base64Answer(CertsOnlyMediaType, EstCertificates.CertsOnly(issued.Der));
    }

    /// <summary>
    /// RFC 7030 4.4: the server makes the key. The client's CSR is verified and its names checked like any other
    /// (issuance calls the CSR reader only once the token is accepted, so the key is made only then); the certificate
    /// is for a new key of the same kind, returned with it and then forgotten.
    /// </summary>
    private static async Task<IResult> ServerKeyGenAsync(HttpContext context, TokenIssuance issuance, CancellationToken cancellationToken)
    {
        var profile = ProfileOf(context);
        var body = await ReadBodyAsync(context.Request, cancellationToken);
        var serverKey = new EstServerKey();
        try
        {
            var issued = await issuance.IssueAsync(
                new TokenIssuanceRequest(TokenOf(context), () => serverKey.Generate(EstRequestBody.DecodeCsr(body)), null, IssuanceProtocol.Est, profile, Hints),
                cancellationToken);
            return new ServerKeyAnswer(serverKey, EstCertificates.CertsOnly(issued.Der));
        }
        catch
        {
            serverKey.Dispose();
            throw;
        }
    }

    private static IResult Unknown(HttpContext context, string? rest)
    {
        var segments = (rest ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries);
        var operation = segments.Length is 1 or 2 ? segments[^1] : null;
        var labelKnown = segments.Length == 1 || (segments.Length == 2 && CertificateProfile.TryGet(segments[0], out _));
        if (labelKnown && operation is not null && Operations.Contains(operation, StringComparer.Ordinal))
        {
            var allowed = operation is "cacerts" or "csrattrs" ? "GET" : "POST";
            context.Response.Headers.Allow = allowed;
            return EstErrors.Text(StatusCodes.Status405MethodNotAllowed, $"{context.Request.Method} is not allowed on {operation}; use {allowed}.");
        }
        if (segments.Length == 2 && !labelKnown)
        {
            return EstErrors.Text(StatusCodes.Status404NotFound, UnknownLabel(segments[0]));
        }
        return EstErrors.Text(StatusCodes.Status404NotFound,
            $"{context.Request.Path} is not an EST operation; use {BasePath}/[client/|server/]{{{string.Join('|', Operations)}}}.");
    }

    /// <summary>The profile the path's label names (none: <see cref="DefaultProfile"/>); 404 for any other label.</summary>
    private static string ProfileOf(HttpContext context)
    {
        if (context.GetRouteValue("label") is not string label)
        {
            return DefaultProfile;
        }
        return CertificateProfile.TryGet(label, out var profile) ? profile.Name : throw new NotFoundException(UnknownLabel(label));
    }

    private static string UnknownLabel(string label) =>
        $"'{label}' is not an EST label here; use {BasePath}/ or {BasePath}/client/ for client certificates, {BasePath}/server/ for server certificates.";

    private static string? TokenOf(HttpContext context) => EstAuthorization.ReadToken(context.Request.Headers.Authorization);

    /// <summary>The raw body; the endpoint's size limit (<see cref="CsrRequestRules.MaxBodyBytes"/>) makes a longer one throw 413.</summary>
    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }

    /// <summary>RFC 7030 4.1.3 / 4.2.3 / 4.5.2 as updated by RFC 8951 3.2: base64 body, <c>Content-Transfer-Encoding: base64</c>.</summary>
    private sealed class Base64Answer(string contentType, byte[] der) : IResult
    {
        public Task ExecuteAsync(HttpContext http)
        {
            http.Response.StatusCode = StatusCodes.Status200OK;
            http.Response.ContentType = contentType;
            http.Response.Headers["Content-Transfer-Encoding"] = "base64";
            var body = EstBase64.Encode(der);
            http.Response.ContentLength = body.Length;
            return http.Response.Body.WriteAsync(body).AsTask();
        }
    }

    /// <summary>RFC 7030 4.4.2: the key and the certificate in one <c>multipart/mixed</c>; the key's bytes are cleared once written.</summary>
    private sealed class ServerKeyAnswer(EstServerKey key, byte[] certsOnly) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            byte[]? pkcs8 = null;
            byte[]? body = null;
            try
            {
                pkcs8 = key.ExportPkcs8();
                var boundary = EstServerKeyAnswer.NewBoundary();
                body = EstServerKeyAnswer.Body(boundary, pkcs8, certsOnly);
                http.Response.StatusCode = StatusCodes.Status200OK;
                http.Response.ContentType = $"multipart/mixed; boundary={boundary}";
                http.Response.Headers.CacheControl = "no-store"; // RFC 9111 5.2.2.5: the answer holds a private key
                http.Response.ContentLength = body.Length;
                await http.Response.Body.WriteAsync(body, http.RequestAborted);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(pkcs8);
                CryptographicOperations.ZeroMemory(body);
                key.Dispose();
            }
        }
    }
}
