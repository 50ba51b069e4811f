using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using PkiService.Api.Infrastructure;
using PkiService.Api.Authentication;

namespace PkiService.Api.Features.Audit;

public static class AuditEndpoints
{
    public static IEndpointRouteBuilder MapAuditEndpoints(this IEndpointRouteBuilder app)
    {
        var audit = app.MapGroup("/api/v1/audit").WithTags("Audit").RequireAuthorization(ApiPolicies.Read);

        audit.MapGet("/", ListAsync)
            .WithName("ListAuditEvents")
            .WithSummary("List audit events, newest first")
            .WithDescription("Admin or auditor. Every security event: CA creation and key load, tokens, issuance, renewal, revocation, API keys, authentication failures.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        audit.MapGet("/verify", VerifyAsync)
            .WithName("VerifyAuditChain")
            .WithSummary("Recompute the audit hash chain and report the first broken link")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        return app;
    }

    private static async Task<Ok<AuditPage>> ListAsync(
        IMediator mediator, CancellationToken cancellationToken, string? action = null, int page = 1, int pageSize = 50) =>
        TypedResults.Ok(await mediator.Send(new ListAuditEvents(action, page, pageSize), cancellationToken));

    private static async Task<Ok<AuditVerification>> VerifyAsync(IMediator mediator, CancellationToken cancellationToken) =>
        TypedResults.Ok(await mediator.Send(new VerifyAuditChain(), cancellationToken));
}
