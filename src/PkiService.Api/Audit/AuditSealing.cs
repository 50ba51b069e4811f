using System.Globalization;
using Microsoft.EntityFrameworkCore;
using PkiService.Api.Infrastructure;
using PkiService.Core.Audit;
using PkiService.Persistence;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Audit;

/// <summary>
/// Gives a MAC, once, to the audit rows written before the audit MAC existed, so that from then on every row must carry
/// one and a row without a MAC is a fault (otherwise removing the MACs would turn a forged chain into an "old" one).
/// </summary>
/// <remarks>
/// Runs at start-up, before requests are served, when the marker file <see cref="MarkerFileName"/> is absent from the
/// data directory: the first start after the upgrade, or the first start of a new deployment (nothing to seal). The rows
/// are sealed only after their hash chain verifies, only as a leading run (a row without a MAC after one with a MAC had
/// its MAC removed and is never sealed), and with an <c>audit.seal</c> row that says how many. Until this first start the
/// chain was the rows' only protection; the seal vouches for what they were at this moment, no more. The marker is kept
/// outside the database so that whoever can only write the database cannot ask for a second sealing.
/// <para>
/// When nodes share the database (<see cref="IPkiDatabase.IsShared"/>) the fact is the <c>ServiceState</c> row
/// <see cref="MarkerStateKey"/> instead, added in the sealing transaction (which holds the database's write lock): N
/// nodes starting at once seal once, and a node with a fresh data directory does not seal again. The price: whoever can
/// write that database can delete the row and ask the next start for a second sealing, as deleting the file does on one node.
/// </para>
/// </remarks>
public static partial class AuditSealing
{
    public const string MarkerFileName = "audit-mac-sealed";
    public const string MarkerStateKey = "audit-mac-sealed";
    public const string SealAction = "audit.seal";

    private const int PageSize = 500;

    public static async Task SealRowsWithoutMacOnceAsync(IServiceProvider scopedServices, string dataDirectory, ILogger logger, CancellationToken cancellationToken)
    {
        var shared = scopedServices.GetRequiredService<IPkiDatabase>().IsShared;
        var marker = Path.Combine(dataDirectory, MarkerFileName);
        if (!shared && File.Exists(marker))
        {
            return;
        }
        var db = scopedServices.GetRequiredService<PkiDbContext>();
        var audit = scopedServices.GetRequiredService<AuditTrail>();
        var key = scopedServices.GetRequiredService<IAuditMacKey>();
        var time = scopedServices.GetRequiredService<TimeProvider>();

        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            // Read under the write lock: a node that finds the row waits for no one and seals nothing.
            if (shared && await db.ServiceState.AnyAsync(s => s.Key == MarkerStateKey, cancellationToken))
            {
                return;
            }
            var verifier = new AuditChainVerifier(key);
            AuditChainFault? fault = null;
            await foreach (var row in db.AuditEvents.AsNoTracking().OrderBy(a => a.Id).AsAsyncEnumerable().WithCancellation(cancellationToken))
            {
                fault = verifier.Next(row.ToAuditRow(), allowUnsealedPrefix: true);
                if (fault is not null)
                {
                    break;
                }
            }
            // Rows 1..Unsealed verified as a chain and have no MAC: seal them, a page at a time to bound memory.
            var sealable = verifier.Unsealed;
            for (long from = 1; from <= sealable; from += PageSize)
            {
                var to = Math.Min(from + PageSize - 1, sealable);
                foreach (var row in await db.AuditEvents.Where(a => a.Id >= from && a.Id <= to).ToListAsync(cancellationToken))
                {
                    row.Mac = key.ComputeMac(row.Hash);
                }
                await db.SaveChangesAsync(cancellationToken);
                db.ChangeTracker.Clear();
            }
            if (fault is not null)
            {
                await audit.AppendAsync(new AuditEntry(AuditTrail.System, SealAction, null, Success: false,
                    $"the trail does not verify at row {fault.RowId}: {fault.Reason}; {Rows(sealable)} before it that had no MAC were sealed, rows from {fault.RowId} on were not"),
                    cancellationToken);
                LogSealStopped(logger, fault.RowId, fault.Reason, sealable);
            }
            else if (sealable > 0)
            {
                await audit.AppendAsync(new AuditEntry(AuditTrail.System, SealAction, null, Success: true,
                    $"{Rows(sealable)} written before the audit MAC (ids 1-{sealable}) verified as a hash chain and sealed; every row from here on carries a MAC"),
                    cancellationToken);
                LogSealed(logger, sealable);
            }
            if (shared)
            {
                db.ServiceState.Add(new ServiceStateRecord
                {
                    Key = MarkerStateKey,
                    Value = "Audit rows written before the audit MAC were sealed once; rows without a MAC are now reported by GET /api/v1/audit/verify.",
                    UpdatedAt = time.GetUtcNow().UtcDateTime,
                });
            }
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        if (shared)
        {
            return;
        }
        DataDirectory.WriteOwnerOnlyFile(marker,
            "Audit rows written before the audit MAC were sealed once; rows without a MAC are now reported by GET /api/v1/audit/verify.\n" +
            "Delete this file only to seal again, e.g. after restoring a database backup taken before the upgrade.\n");
    }

    private static string Rows(long count) => count.ToString(CultureInfo.InvariantCulture) + (count == 1 ? " row" : " rows");

    [LoggerMessage(EventId = 1030, EventName = "AuditRowsSealed", Level = LogLevel.Warning,
        Message = "Sealed {Count} audit rows written before the audit MAC; their hash chain verified first")]
    private static partial void LogSealed(ILogger logger, long count);

    [LoggerMessage(EventId = 1031, EventName = "AuditSealStopped", Level = LogLevel.Error,
        Message = "The audit trail does not verify at row {RowId} ({Reason}); {Count} earlier rows without a MAC were sealed, the rest were not")]
    private static partial void LogSealStopped(ILogger logger, long rowId, string reason, long count);
}
