using Microsoft.AspNetCore.Http.HttpResults;
using PkiService.Core.Authorities;

namespace PkiService.Api.Features.CaCertificates;

/// <summary>The public trust anchors: no authentication, served from memory.</summary>
public static class CaCertificateEndpoints
{
    /// <summary>RFC 2585 3: the media type of a DER certificate.</summary>
    public const string PkixCert = "application/pkix-cert";
    public const string PemFile = "application/x-pem-file";

    public static IEndpointRouteBuilder MapCaCertificateEndpoints(this IEndpointRouteBuilder app)
    {
        var pki = app.MapGroup("/pki").WithTags("CA certificates").AllowAnonymous().RequireRateLimiting(Infrastructure.RequestProtection.PublicPolicy);

        pki.MapGet("/ca.crt", (CaHierarchy ca) => Der(ca.Issuing.Der))
            .WithName("GetIssuingCaDer").WithSummary("Issuing CA certificate, DER").Produces(200, contentType: PkixCert);
        pki.MapGet("/ca.pem", (CaHierarchy ca) => Pem(ca.Issuing.Pem))
            .WithName("GetIssuingCaPem").WithSummary("Issuing CA certificate, PEM").Produces(200, contentType: PemFile);
        pki.MapGet("/chain.pem", (CaHierarchy ca) => Pem(ca.ChainPem))
            .WithName("GetChainPem").WithSummary("Issuing CA then root, PEM").Produces(200, contentType: PemFile);
        pki.MapGet("/root.pem", (CaHierarchy ca) => Pem(ca.Root.Pem))
            .WithName("GetRootPem").WithSummary("Root CA certificate, PEM").Produces(200, contentType: PemFile);
        pki.MapGet("/root.crt", (CaHierarchy ca) => Der(ca.Root.Der))
            .WithName("GetRootDer").WithSummary("Root CA certificate, DER (the caIssuers URL in the issuing CA)").Produces(200, contentType: PkixCert);

        return app;
    }

    private static FileContentHttpResult Der(byte[] der) => TypedResults.File(der, PkixCert);

    private static ContentHttpResult Pem(string pem) => TypedResults.Text(pem, PemFile);
}
