using System.Globalization;
using Mediator;
using Microsoft.EntityFrameworkCore;
using PkiService.Api.Audit;
using PkiService.Core.Audit;
using PkiService.Core.Authorities;
using PkiService.Persistence;

namespace PkiService.Api.Features.Audit;

/// <summary>A checkpoint kept from GET /api/v1/audit/checkpoint; the other members of that answer may be sent along and are ignored.</summary>
/// <param name="SignedData">The checkpoint's signedData, unchanged (base64).</param>
/// <param name="Signature">The checkpoint's signature, unchanged (base64).</param>
public sealed record VerifyAuditCheckpoint(string? SignedData, string? Signature) : IQuery<AuditCheckpointVerification>;

/// <summary>Whether the trail still holds a checkpoint's row with the checkpoint's hash.</summary>
/// <param name="Matches">True when it does: nothing up to that row was deleted or rewritten since the checkpoint.</param>
/// <param name="CheckpointId">The row the checkpoint names.</param>
/// <param name="CheckpointHash">The hash it states for that row.</param>
/// <param name="CheckpointTime">When it was signed.</param>
/// <param name="NewestId">The newest row now, if any.</param>
/// <param name="Reason">What was found, in words.</param>
public sealed record AuditCheckpointVerification(
    bool Matches, long CheckpointId, string CheckpointHash, DateTimeOffset CheckpointTime, long? NewestId, string Reason);

/// <summary>
/// Checks the checkpoint's signature with the issuing CA, then looks its row up: missing (the trail was truncated), with
/// another hash (rewritten), or present with the same hash and a MAC that verifies.
/// </summary>
public sealed class VerifyAuditCheckpointHandler(PkiDbContext db, IAuditMacKey macKey, CaHierarchy hierarchy)
    : IQueryHandler<VerifyAuditCheckpoint, AuditCheckpointVerification>
{
    public async ValueTask<AuditCheckpointVerification> Handle(VerifyAuditCheckpoint query, CancellationToken cancellationToken)
    {
        var checkpoint = AuditCheckpoints.Open(Convert.FromBase64String(query.SignedData!), Convert.FromBase64String(query.Signature!), hierarchy.Issuing);
        var newestId = await db.AuditEvents.MaxAsync(a => (long?)a.Id, cancellationToken);
        var row = await db.AuditEvents.AsNoTracking().FirstOrDefaultAsync(a => a.Id == checkpoint.Id, cancellationToken);
        var id = checkpoint.Id.ToString(CultureInfo.InvariantCulture);
        var hash = Convert.ToHexStringLower(checkpoint.Hash);

        AuditCheckpointVerification Answer(bool matches, string reason) =>
            new(matches, checkpoint.Id, hash, checkpoint.Time, newestId, reason);

        if (row is null)
        {
            return Answer(false, $"row {id} is no longer in the trail (the newest row is {newestId?.ToString(CultureInfo.InvariantCulture) ?? "none"}): "
                + "rows were deleted since the checkpoint, the trail was truncated or replaced");
        }
        if (!row.Hash.AsSpan().SequenceEqual(checkpoint.Hash))
        {
            return Answer(false, $"row {id} now has hash {Convert.ToHexStringLower(row.Hash)}, not the checkpoint's: the trail was rewritten at or before row {id}");
        }
        if (new AuditChainVerifier(macKey).Authenticate(row.ToAuditRow()) is { } fault)
        {
            return Answer(false, $"row {id} has the checkpoint's hash but does not verify: {fault.Reason}");
        }
        return Answer(true, $"row {id} is still in the trail with the checkpoint's hash ({newestId - checkpoint.Id} rows added since); "
            + "GET /api/v1/audit/verify checks every row up to the newest");
    }
}
