using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using PkiService.Api.Features.Certificates;
using PkiService.Api.Infrastructure;
using PkiService.Api.Authentication;

namespace PkiService.Api.Features.Revocation;

public static class RevocationEndpoints
{
    public static IEndpointRouteBuilder MapRevocationEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/certificates/{serial}/revoke", RevokeAsync)
            .WithTags("Revocation")
            .WithName("RevokeCertificate")
            .WithSummary("Revoke a certificate")
            .WithDescription("Admin. When this answers 200, OCSP already answers 'revoked' and the CRL at /pki/crl lists the serial.")
            .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(16 * 1024))
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .RequireAuthorization(ApiPolicies.Admin);
        return app;
    }

    private static async Task<Ok<CertificateView>> RevokeAsync(
        string serial, RevokeRequest body, IMediator mediator, CancellationToken cancellationToken) =>
        TypedResults.Ok(await mediator.Send(new RevokeCertificate(serial, body.Reason, body.InvalidityDate), cancellationToken));
}
