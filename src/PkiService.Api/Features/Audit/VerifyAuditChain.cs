using Mediator;
using Microsoft.EntityFrameworkCore;
using PkiService.Api.Audit;
using PkiService.Core.Audit;
using PkiService.Persistence;

namespace PkiService.Api.Features.Audit;

/// <summary>The result of recomputing the chain.</summary>
/// <param name="Valid">True when every row's id, link, hash and MAC verify.</param>
/// <param name="Checked">Rows that verified (all of them when valid; those before the first bad one otherwise).</param>
/// <param name="FirstBrokenId">The first row whose id, link, hash or MAC does not fit, if any.</param>
/// <param name="Reason">Why that row does not fit.</param>
/// <param name="LastHash">Hex hash of the last row, when valid. To detect truncation later keep a signed checkpoint (GET /api/v1/audit/checkpoint).</param>
/// <param name="LastId">Id of the last row, when valid.</param>
public sealed record AuditVerification(bool Valid, long Checked, long? FirstBrokenId, string? Reason, string? LastHash, long? LastId = null);

/// <summary>Recomputes the audit hash chain and every row's MAC from the first row.</summary>
public sealed record VerifyAuditChain : IQuery<AuditVerification>;

public sealed class VerifyAuditChainHandler(PkiDbContext db, IAuditMacKey macKey) : IQueryHandler<VerifyAuditChain, AuditVerification>
{
    public async ValueTask<AuditVerification> Handle(VerifyAuditChain query, CancellationToken cancellationToken)
    {
        var verifier = new AuditChainVerifier(macKey);
        await foreach (var row in db.AuditEvents.AsNoTracking().OrderBy(a => a.Id).AsAsyncEnumerable().WithCancellation(cancellationToken))
        {
            if (verifier.Next(row.ToAuditRow()) is { } fault)
            {
                return new AuditVerification(false, verifier.Checked, fault.RowId, fault.Reason, null);
            }
        }
        return verifier.LastHash is { } lastHash
            ? new AuditVerification(true, verifier.Checked, null, null, Convert.ToHexStringLower(lastHash), verifier.LastId)
            : new AuditVerification(true, 0, null, null, null);
    }
}
