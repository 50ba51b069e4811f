using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using PkiService.Api.Authentication;
using PkiService.Core.Errors;

namespace PkiService.Api.Features.RootCrl;

public static class RootCrlEndpoints
{
    /// <summary>Most bytes a root CRL upload may carry: an offline root lists few revoked CAs.</summary>
    public const int MaxBodyBytes = 1024 * 1024;

    public static IEndpointRouteBuilder MapRootCrlEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPut("/api/v1/root-crl", UploadAsync)
            .WithTags("CRLs")
            .RequireAuthorization(ApiPolicies.Admin)
            .WithName("UploadRootCrl")
            .WithSummary("Upload the CRL an external (offline) root signed")
            .WithDescription("Admin. Body: the CRL as DER (application/pkix-crl) or PEM. Checked against the root's name and key; then served by "
                + "/pki/root.crl and /pki/crl-bundle.pem on every node. Readiness reports a missing or expiring root CRL.")
            .Accepts<byte[]>("application/pkix-crl", "application/x-pem-file")
            .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(MaxBodyBytes))
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<Ok<RootCrlView>> UploadAsync(HttpContext http, IMediator mediator, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream();
        await http.Request.Body.CopyToAsync(body, cancellationToken);
        if (body.Length == 0)
        {
            throw new InvalidRequestException("The body is empty; send the root CRL as DER (application/pkix-crl) or PEM.");
        }
        return TypedResults.Ok(await mediator.Send(new UploadRootCrl(body.ToArray()), cancellationToken));
    }
}
