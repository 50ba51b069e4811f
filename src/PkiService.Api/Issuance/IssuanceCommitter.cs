using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using PkiService.Api.Infrastructure;
using PkiService.Persistence;
using PkiService.Persistence.Entities;
using PkiService.Api.Audit;
using PkiService.Core.Issuance;

namespace PkiService.Api.Issuance;

/// <summary>
/// A signed certificate waiting to be stored, with the grant it was issued under and the audit event it records. What
/// the grant spends is spent in the same transaction: a token grant consumes its token, a renewal supersedes the
/// certificate renewed, a service grant spends nothing.
/// </summary>
public sealed record PendingIssuance(CertificateRecord Certificate, IssuanceGrant Grant, AuditEntry? Audit);

/// <summary>What became of a <see cref="PendingIssuance"/>. Only <see cref="Committed"/> may be handed to the client.</summary>
public enum IssuanceCommitOutcome
{
    /// <summary>The certificate and its audit event are committed, and what its grant spends is spent.</summary>
    Committed,

    /// <summary>
    /// What the grant spends was spent meanwhile (another request won the race): the token was used, revoked or expired,
    /// or the certificate being renewed was renewed or revoked. Nothing was stored.
    /// </summary>
    NotUsable,

    /// <summary>Another certificate has this serial; nothing was stored. Sign again with a fresh serial.</summary>
    SerialTaken,
}

/// <summary>
/// Group commit for every issuance (token enrollments and renewals, from any front end). SQLite admits one writer at
/// a time and each commit costs an fsync of the WAL (<c>synchronous=FULL</c>), so one transaction per issuance makes
/// concurrent clients queue on the write lock. Requests do everything that needs no lock (credential look-up, CSR
/// checks, signing) in parallel and then hand the signed record here; one writer takes whatever has arrived, checks
/// with the write lock held that each grant can still be spent (the token unused, the renewed certificate active),
/// spends it, stores each certificate and audit event in one transaction, commits once, and only then answers each
/// request. A request is never answered <see cref="IssuanceCommitOutcome.Committed"/> before its commit, and a failed
/// batch is retried one issuance per transaction, so one bad record cannot fail the others.
/// </summary>
public sealed partial class IssuanceCommitter(IServiceScopeFactory scopes, TimeProvider time, PkiMetrics metrics, ILogger<IssuanceCommitter> logger)
    : BackgroundService
{
    /// <summary>At most this many issuances share a transaction (bounds the lock hold time and the SQL parameter count).</summary>
    public const int MaxBatchSize = 256;

    private readonly Channel<Submission> queue = Channel.CreateUnbounded<Submission>(new UnboundedChannelOptions { SingleReader = true });

    private sealed record Submission(PendingIssuance Issuance, TaskCompletionSource<IssuanceCommitOutcome> Result);

    /// <summary>Queues the issuance and completes once it is committed (or refused). Not cancellable once queued: the commit may already be under way.</summary>
    public Task<IssuanceCommitOutcome> CommitAsync(PendingIssuance issuance)
    {
        ArgumentNullException.ThrowIfNull(issuance);
        var submission = new Submission(issuance, new TaskCompletionSource<IssuanceCommitOutcome>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!queue.Writer.TryWrite(submission))
        {
            throw new ServiceStoppingException("The service is stopping; retry in a moment (nothing was issued, the token or certificate was not used).");
        }
        return submission.Result.Task;
    }

    /// <summary>
    /// Commits the issuance in a transaction of its own, now, without the queue: for the service's own certificates,
    /// which are issued while the host starts (before this background service runs).
    /// </summary>
    public async Task<IssuanceCommitOutcome> CommitNowAsync(PendingIssuance issuance)
    {
        ArgumentNullException.ThrowIfNull(issuance);
        var submission = new Submission(issuance, new TaskCompletionSource<IssuanceCommitOutcome>());
        return (await CommitInOneTransactionAsync([submission]))[0];
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // On shutdown stop taking new work, but commit (or refuse) everything already queued: its requests are waiting.
        await using var _ = stoppingToken.Register(() => queue.Writer.TryComplete());
        var batch = new List<Submission>(MaxBatchSize);
        while (await queue.Reader.WaitToReadAsync(CancellationToken.None))
        {
            batch.Clear();
            while (batch.Count < MaxBatchSize && queue.Reader.TryRead(out var submission))
            {
                batch.Add(submission);
            }
            await CommitBatchAsync(batch);
        }
    }

    private async Task CommitBatchAsync(List<Submission> batch)
    {
        try
        {
            var outcomes = await CommitInOneTransactionAsync(batch);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Result.TrySetResult(outcomes[i]);
            }
            return;
        }
        catch (Exception exception) when (batch.Count > 1)
        {
            LogBatchFailed(logger, exception, batch.Count);
        }
        catch (Exception exception)
        {
            batch[0].Result.TrySetException(exception);
            return;
        }

        foreach (var submission in batch)
        {
            try
            {
                submission.Result.TrySetResult((await CommitInOneTransactionAsync([submission]))[0]);
            }
            catch (Exception exception)
            {
                submission.Result.TrySetException(exception);
            }
        }
    }

    private async Task<IssuanceCommitOutcome[]> CommitInOneTransactionAsync(IReadOnlyList<Submission> batch)
    {
        var started = Stopwatch.GetTimestamp();
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();
        var audit = scope.ServiceProvider.GetRequiredService<AuditTrail>();
        // Only added rows are tracked; scanning them for changes before every audit append would cost O(batch²).
        db.ChangeTracker.AutoDetectChangesEnabled = false;

        var outcomes = new IssuanceCommitOutcome[batch.Count];
        await using var transaction = await db.Database.BeginTransactionAsync(CancellationToken.None);
        var serials = batch.Select(s => s.Issuance.Certificate.SerialNumber).ToList();
        // RFC 5280 4.1.2.2: serials are unique per CA. A 128-bit collision is practically impossible, but checked anyway.
        var taken = (await db.Certificates.Where(c => serials.Contains(c.SerialNumber)).Select(c => c.SerialNumber).ToListAsync()).ToHashSet();
        // What the grants spend, read with the write lock held, so no other transaction can spend it before this one
        // commits; within the batch the first request for a token (or a certificate) takes it and any other is refused.
        var now = time.GetUtcNow().UtcDateTime;
        var tokenIds = batch.Select(s => s.Issuance.Grant.ConsumedTokenId).OfType<string>().Distinct().ToList();
        var usableTokens = tokenIds.Count == 0 ? [] : (await db.EnrollmentTokens
            .Where(t => tokenIds.Contains(t.Id))
            .Where(EnrollmentTokenRecord.InState(EnrollmentTokenState.Unused, now))
            .Select(t => t.Id)
            .ToListAsync()).ToHashSet();
        var renewedSerials = batch.Select(s => s.Issuance.Grant.SupersededSerial).OfType<string>().Distinct().ToList();
        var activeRenewed = renewedSerials.Count == 0 ? [] : (await db.Certificates
            .Where(c => renewedSerials.Contains(c.SerialNumber) && c.Status == CertificateStatus.Active)
            .Select(c => new { c.SerialNumber, c.IssuerFingerprint })
            .ToListAsync()).Select(c => (c.SerialNumber, c.IssuerFingerprint)).ToHashSet();
        var consumed = new List<string>(batch.Count);
        var superseded = new List<(string Old, string Issuer, string New)>();
        for (var i = 0; i < batch.Count; i++)
        {
            var issuance = batch[i].Issuance;
            if (!taken.Add(issuance.Certificate.SerialNumber))
            {
                outcomes[i] = IssuanceCommitOutcome.SerialTaken;
                continue;
            }
            if (issuance.Grant.ConsumedTokenId is { } tokenId && !usableTokens.Remove(tokenId))
            {
                outcomes[i] = IssuanceCommitOutcome.NotUsable;
                continue;
            }
            // A renewal is issued by the renewed certificate's CA, which is the CA issuing now (RenewCertificate checks it).
            if (issuance.Grant.SupersededSerial is { } old && !activeRenewed.Remove((old, issuance.Certificate.IssuerFingerprint)))
            {
                outcomes[i] = IssuanceCommitOutcome.NotUsable;
                continue;
            }
            if (issuance.Grant.ConsumedTokenId is { } spent)
            {
                consumed.Add(spent);
            }
            if (issuance.Grant.SupersededSerial is { } renewed)
            {
                superseded.Add((renewed, issuance.Certificate.IssuerFingerprint, issuance.Certificate.SerialNumber));
            }
            issuance.Certificate.Id = 0; // a batch that failed may have left a key on it; the retry's insert draws its own
            db.Certificates.Add(issuance.Certificate);
            if (issuance.Audit is { } entry)
            {
                await audit.AppendAsync(entry, CancellationToken.None);
            }
            outcomes[i] = IssuanceCommitOutcome.Committed;
        }
        if (consumed.Count > 0)
        {
            var updated = await db.EnrollmentTokens.Where(t => consumed.Contains(t.Id)).ExecuteUpdateAsync(s => s.SetProperty(t => t.UsedAt, now));
            if (updated != consumed.Count)
            {
                throw new InvalidOperationException($"Consumed {updated} enrollment tokens where {consumed.Count} were usable under the write lock.");
            }
        }
        foreach (var (old, issuer, replacement) in superseded)
        {
            var updated = await db.Certificates
                .Where(c => c.SerialNumber == old && c.IssuerFingerprint == issuer && c.Status == CertificateStatus.Active)
                .ExecuteUpdateAsync(s => s.SetProperty(c => c.Status, CertificateStatus.Superseded).SetProperty(c => c.SupersededBy, replacement));
            if (updated != 1)
            {
                throw new InvalidOperationException($"Certificate {old} was active under the write lock but superseding it updated {updated} rows.");
            }
        }
        await db.SaveChangesAsync(CancellationToken.None);
        await transaction.CommitAsync(CancellationToken.None);
        metrics.IssuanceCommitted(batch.Count, Stopwatch.GetElapsedTime(started));
        return outcomes;
    }

    [LoggerMessage(EventId = 3110, EventName = "IssuanceBatchFailed", Level = LogLevel.Warning,
        Message = "Committing {Count} issuances in one transaction failed; committing them one by one")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count);
}
