using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using PkiService.Api.Infrastructure;
using PkiService.Persistence;
using PkiService.Persistence.Entities;
using PkiService.Api.Audit;
using PkiService.Core.Issuance;

namespace PkiService.Api.Issuance;

/// <summary>A signed certificate waiting to be stored, with the grant it was issued under and the audit event it records.</summary>
public sealed record PendingIssuance(CertificateRecord Certificate, IssuanceGrant Grant, AuditEntry Audit)
{
    /// <summary>The one-time token the commit consumes; the committer takes only grants that consume one.</summary>
    public string TokenId => Grant.ConsumedTokenId
        ?? throw new InvalidOperationException($"A {Grant.Source} grant consumes no token; the group committer stores token enrollments only.");
}

/// <summary>What became of a <see cref="PendingIssuance"/>. Only <see cref="Committed"/> may be handed to the client.</summary>
public enum IssuanceCommitOutcome
{
    /// <summary>The token is consumed and the certificate and its audit event are committed.</summary>
    Committed,

    /// <summary>The token was used, revoked or expired meanwhile (another request won the race); nothing was stored.</summary>
    TokenNotUsable,

    /// <summary>Another certificate has this serial; nothing was stored. Sign again with a fresh serial.</summary>
    SerialTaken,
}

/// <summary>
/// Group commit for enrollments. SQLite admits one writer at a time and each commit costs an fsync of the WAL
/// (<c>synchronous=FULL</c>), so one transaction per enrollment makes concurrent clients queue on the write lock.
/// Requests do everything that needs no lock (token look-up, CSR checks, signing) in parallel and then hand the
/// signed record here; one writer takes whatever has arrived, consumes each token, stores each certificate and audit
/// event in one transaction, commits once, and only then answers each request. A request is never answered
/// <see cref="IssuanceCommitOutcome.Committed"/> before its commit, and a failed batch is retried one enrollment per
/// transaction, so one bad record cannot fail the others.
/// </summary>
public sealed partial class IssuanceCommitter(IServiceScopeFactory scopes, TimeProvider time, PkiMetrics metrics, ILogger<IssuanceCommitter> logger)
    : BackgroundService
{
    /// <summary>At most this many enrollments share a transaction (bounds the lock hold time and the SQL parameter count).</summary>
    public const int MaxBatchSize = 256;

    private readonly Channel<Submission> queue = Channel.CreateUnbounded<Submission>(new UnboundedChannelOptions { SingleReader = true });

    private sealed record Submission(PendingIssuance Issuance, TaskCompletionSource<IssuanceCommitOutcome> Result);

    /// <summary>Queues the issuance and completes once it is committed (or refused). Not cancellable once queued: the commit may already be under way.</summary>
    public Task<IssuanceCommitOutcome> CommitAsync(PendingIssuance issuance)
    {
        ArgumentNullException.ThrowIfNull(issuance);
        _ = issuance.TokenId; // refuse a grant that consumes no token before it is queued
        var submission = new Submission(issuance, new TaskCompletionSource<IssuanceCommitOutcome>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!queue.Writer.TryWrite(submission))
        {
            throw new ServiceStoppingException("The service is stopping; retry the enrollment in a moment (the token was not used).");
        }
        return submission.Result.Task;
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
        // The tokens still usable, read with the write lock held, so no other transaction can consume one before this
        // one commits; within the batch the first request for a token takes it and any other for it is refused.
        var now = time.GetUtcNow().UtcDateTime;
        var tokenIds = batch.Select(s => s.Issuance.TokenId).Distinct().ToList();
        var usable = (await db.EnrollmentTokens
            .Where(t => tokenIds.Contains(t.Id))
            .Where(EnrollmentTokenRecord.InState(EnrollmentTokenState.Unused, now))
            .Select(t => t.Id)
            .ToListAsync()).ToHashSet();
        var consumed = new List<string>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var issuance = batch[i].Issuance;
            if (!taken.Add(issuance.Certificate.SerialNumber))
            {
                outcomes[i] = IssuanceCommitOutcome.SerialTaken;
                continue;
            }
            if (!usable.Remove(issuance.TokenId))
            {
                outcomes[i] = IssuanceCommitOutcome.TokenNotUsable;
                continue;
            }
            consumed.Add(issuance.TokenId);
            issuance.Certificate.Id = 0; // a batch that failed may have left a key on it; the retry's insert draws its own
            db.Certificates.Add(issuance.Certificate);
            await audit.AppendAsync(issuance.Audit, CancellationToken.None);
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
        await db.SaveChangesAsync(CancellationToken.None);
        await transaction.CommitAsync(CancellationToken.None);
        metrics.IssuanceCommitted(batch.Count, Stopwatch.GetElapsedTime(started));
        return outcomes;
    }

    [LoggerMessage(EventId = 3110, EventName = "IssuanceBatchFailed", Level = LogLevel.Warning,
        Message = "Committing {Count} enrollments in one transaction failed; committing them one by one")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count);
}
