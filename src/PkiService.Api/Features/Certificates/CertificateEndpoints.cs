using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using PkiService.Api.Infrastructure;
using PkiService.Api.Authentication;

namespace PkiService.Api.Features.Certificates;

public static class CertificateEndpoints
{
    public static IEndpointRouteBuilder MapCertificateEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/certificates").WithTags("Certificates").RequireAuthorization(ApiPolicies.Read);

        api.MapGet("/", ListAsync)
            .WithName("ListCertificates")
            .WithSummary("List issued certificates")
            .WithDescription("Filter by status (active, revoked, expired) and by expiringWithin (ISO 8601 duration). Pages start at 1; pageSize is at most 200.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        api.MapGet("/{serial}", GetAsync)
            .WithName("GetCertificate")
            .WithSummary("Read one certificate by serial number")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);

        return app;
    }

    private static async Task<Ok<CertificatePage>> ListAsync(
        IMediator mediator, CancellationToken cancellationToken,
        string? status = null, string? expiringWithin = null, int page = 1, int pageSize = 50) =>
        TypedResults.Ok(await mediator.Send(new ListCertificates(status, expiringWithin, page, pageSize), cancellationToken));

    private static async Task<Ok<CertificateView>> GetAsync(string serial, IMediator mediator, CancellationToken cancellationToken) =>
        TypedResults.Ok(await mediator.Send(new GetCertificate(serial), cancellationToken));
}
