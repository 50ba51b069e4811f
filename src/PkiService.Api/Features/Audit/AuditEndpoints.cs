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
            .WithSummary("Recompute the audit hash chain and every row's MAC, and report the first row that does not verify")
            .WithDescription("Admin or auditor. Finds a row that was altered, removed, re-ordered, or rewritten together with every later hash "
                + "by someone without the audit key (its MAC then fails). It cannot see the newest rows cut off: keep checkpoints for that.")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        audit.MapGet("/checkpoint", CheckpointAsync)
            .WithName("GetAuditCheckpoint")
            .WithSummary("A checkpoint of the newest audit row (id and hash), signed by the issuing CA")
            .WithDescription("Admin or auditor. Keep it outside this service and present it later to POST /api/v1/audit/verify-checkpoint to detect "
                + "truncation. Verify it offline: base64-decode signedData and signature, then "
                + "'openssl dgst -<digest> -verify <(openssl x509 -in ca.pem -pubkey -noout) -signature checkpoint.sig checkpoint.json' "
                + "with ca.pem from /pki/ca.pem. 409 when the newest row itself does not verify.")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status409Conflict);
        audit.MapPost("/verify-checkpoint", VerifyCheckpointAsync)
            .WithName("VerifyAuditCheckpoint")
            .WithSummary("Check that the audit trail still holds a kept checkpoint's row with the checkpoint's hash")
            .WithDescription("Admin or auditor. Send the checkpoint as GET /api/v1/audit/checkpoint returned it (signedData and signature are read). "
                + "matches=false when that row was deleted (truncation) or rewritten; 400 when the signature does not verify with the issuing CA.")
            .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(16 * 1024))
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        return app;
    }

    private static async Task<Ok<AuditPage>> ListAsync(
        IMediator mediator, CancellationToken cancellationToken, string? action = null, int page = 1, int pageSize = 50) =>
        TypedResults.Ok(await mediator.Send(new ListAuditEvents(action, page, pageSize), cancellationToken));

    private static async Task<Ok<AuditVerification>> VerifyAsync(IMediator mediator, CancellationToken cancellationToken) =>
        TypedResults.Ok(await mediator.Send(new VerifyAuditChain(), cancellationToken));

    private static async Task<Ok<AuditCheckpointView>> CheckpointAsync(IMediator mediator, CancellationToken cancellationToken) =>
        TypedResults.Ok(await mediator.Send(new GetAuditCheckpoint(), cancellationToken));

    private static async Task<Ok<AuditCheckpointVerification>> VerifyCheckpointAsync(
        VerifyAuditCheckpoint checkpoint, IMediator mediator, CancellationToken cancellationToken) =>
        TypedResults.Ok(await mediator.Send(checkpoint, cancellationToken));
}
