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
            .WithDescription("Only on the mTLS listener (Pki:MtlsUrl, default https://127.0.0.1:5443); 404 on the plain listener. "
                + "Present the current certificate as the TLS client certificate and send a CSR (a new key is expected) with the same CN and SANs. "
                + "The current certificate becomes 'superseded'.")
            .WithMetadata(new RequestSizeLimitAttribute(CsrRequestRules.MaxBodyBytes), MtlsOnlyMetadata.Instance)
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
        RenewRequest body, HttpContext context, IMediator mediator, CancellationToken cancellationToken)
    {
        var certificate = await context.Connection.GetClientCertificateAsync(cancellationToken);
        var response = await mediator.Send(new RenewCertificate(certificate?.RawData, body.Csr, body.Validity), cancellationToken);
        return TypedResults.Created($"/api/v1/certificates/{response.SerialNumber}", response);
    }
}
