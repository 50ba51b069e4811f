using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using PkiService.Api.Infrastructure;
using PkiService.Api.Issuance;

namespace PkiService.Api.Features.Renewal;

public static class RenewalEndpoints
{
    public static IEndpointRouteBuilder MapRenewalEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1").WithTags("Renewal");

        api.MapPost("/renew", RenewAsync)
            .WithName("Renew")
            .WithSummary("Renew a certificate, authenticated by the certificate itself over mTLS")
            .WithDescription("On the mTLS listener (Pki:MtlsUrl, default https://127.0.0.1:5443); 404 on the plain listener unless "
                + "reverse proxies are trusted (ForwardedHeaders:KnownProxies / KnownNetworks): then also on the plain listener, for a proxy that "
                + "terminates TLS and forwards the verified client certificate in Renewal:ForwardedCertificateHeader (default X-Forwarded-Client-Cert, "
                + "URL-escaped PEM), believed only from those proxies. "
                + "Present the current certificate as the TLS client certificate and send a CSR (a new key is expected) with the same CN and SANs. "
                + "The current certificate becomes 'superseded'.")
            .WithMetadata(new RequestSizeLimitAttribute(CsrRequestRules.MaxBodyBytes), MtlsOnlyMetadata.Instance, AlsoBehindTrustedProxyMetadata.Instance)
            .Accepts<RenewRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .RequireRateLimiting(RequestProtection.RenewalPolicy)
            .AllowAnonymous();

        return app;
    }

    private static async Task<Created<EnrollmentResponse>> RenewAsync(
        RenewRequest body, HttpContext context, ClientCertificateSource certificates, IMediator mediator, CancellationToken cancellationToken)
    {
        var certificate = await certificates.GetAsync(context, cancellationToken);
        var response = await mediator.Send(new RenewCertificate(certificate, body.Csr, body.Validity), cancellationToken);
        return TypedResults.Created($"/api/v1/certificates/{response.SerialNumber}", response);
    }
}
