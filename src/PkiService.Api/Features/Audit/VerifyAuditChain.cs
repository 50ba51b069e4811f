using Mediator;
using Microsoft.EntityFrameworkCore;
using PkiService.Core.Audit;
using PkiService.Persistence;

namespace PkiService.Api.Features.Audit;

/// <summary>The result of recomputing the chain.</summary>
/// <param name="Valid">True when every row's hash and link recompute.</param>
/// <param name="Checked">Rows checked.</param>
/// <param name="FirstBrokenId">The first row whose hash, link or id does not fit, if any.</param>
/// <param name="Reason">Why that row does not fit.</param>
/// <param name="LastHash">Hex hash of the last row: record it elsewhere to detect truncation later.</param>
public sealed record AuditVerification(bool Valid, long Checked, long? FirstBrokenId, string? Reason, string? LastHash);

/// <summary>Recomputes the audit hash chain from the first row.</summary>
public sealed record VerifyAuditChain : IQuery<AuditVerification>;

public sealed class VerifyAuditChainHandler(PkiDbContext db) : IQueryHandler<VerifyAuditChain, AuditVerification>
{
    public async ValueTask<AuditVerification> Handle(VerifyAuditChain query, CancellationToken cancellationToken)
    {
        var previousHash = AuditChain.Genesis;
        long expectedId = 1, checkedRows = 0;
        await foreach (var row in db.AuditEvents.AsNoTracking().OrderBy(a => a.Id).AsAsyncEnumerable().WithCancellation(cancellationToken))
        {
            string? broken = null;
            if (row.Id != expectedId)
            {
                broken = $"row {expectedId} is missing (next row is {row.Id})";
            }
            else if (!row.PreviousHash.AsSpan().SequenceEqual(previousHash))
            {
                broken = "its previous-hash does not match the row before it";
            }
            else
            {
                var content = new AuditEntryContent(row.Id, new DateTimeOffset(DateTime.SpecifyKind(row.Time, DateTimeKind.Utc)),
                    row.Actor, row.Action, row.Target, row.Outcome, row.ClientIp, row.Details);
                if (!AuditChain.Hash(previousHash, content).AsSpan().SequenceEqual(row.Hash))
                {
                    broken = "its content does not match its hash (the row was altered)";
                }
            }
            if (broken is not null)
            {
                return new AuditVerification(false, checkedRows, row.Id == expectedId ? row.Id : expectedId, broken, null);
            }
            previousHash = row.Hash;
            expectedId++;
            checkedRows++;
        }
        return new AuditVerification(true, checkedRows, null, null, checkedRows == 0 ? null : Convert.ToHexStringLower(previousHash));
    }
}
