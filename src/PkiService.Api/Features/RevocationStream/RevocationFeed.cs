using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using PkiService.Api.Features.Crl;
using PkiService.Api.Revocation;
using PkiService.Core.Authorities;
using PkiService.Persistence;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Features.RevocationStream;

/// <summary>
/// The revocations every open stream sends, read from the database once per node (not once per stream) and kept in a
/// ring of the newest <see cref="Capacity"/> events that streams read at their own pace.
/// </summary>
/// <remarks>
/// <para>
/// It learns of changes through the status-change seam (<see cref="ICertificateStatusSubscriber"/>): revocations on
/// this node, those other nodes announce (PostgreSQL LISTEN/NOTIFY), and "all may have changed" after a lost listener.
/// <see cref="ICertificateStatusSubscriber.Drop"/> only signals (no I/O, never blocks). The feed then reads from the
/// database the revocations dated at or after its previous read minus <see cref="Margin"/>, and appends those it has
/// not appended yet. Reading the database rather than trusting the signal keeps it right for "all may have changed"
/// and for a missed signal; it also reads every <see cref="PollInterval"/> without one, so a revocation another node
/// made while this node was not listening reaches the streams anyway. The margin covers the time between a
/// revocation's timestamp and its commit, and clock differences between nodes.
/// </para>
/// <para>
/// Bounded: the ring holds at most <see cref="Capacity"/> events (a stream that falls further behind is ended and
/// resumes with Last-Event-ID); the set of serials already appended holds only those revoked within the read window.
/// </para>
/// </remarks>
public sealed partial class RevocationFeed(
    IServiceScopeFactory scopes,
    CaHierarchy hierarchy,
    CrlPublisher publisher,
    CrlHistory history,
    TimeProvider time,
    ILogger<RevocationFeed> logger)
    : BackgroundService, ICertificateStatusSubscriber
{
    /// <summary>Revocations dated this long before a read's window are read again (commit delays, clock differences).</summary>
    public static readonly TimeSpan Margin = TimeSpan.FromMinutes(1);

    /// <summary>How often the feed reads the database when no change was signalled.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);

    /// <summary>Events kept for streams that have not sent them yet (about 200 bytes each).</summary>
    public const int Capacity = 16384;

    /// <summary>Rows read per database round trip of a replay.</summary>
    public const int ReplayPageSize = 1000;

    /// <summary>Replay pages read at once across all streams, so a crowd reconnecting does not take every database connection.</summary>
    public const int ConcurrentReplayReads = 4;

    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly SemaphoreSlim _replayReads = new(ConcurrentReplayReads, ConcurrentReplayReads);
    private readonly Lock _lock = new();
    private readonly RevocationEvent[] _ring = new RevocationEvent[Capacity];
    private readonly Dictionary<string, DateTimeOffset> _appended = new(StringComparer.Ordinal);
    private TaskCompletionSource _advanced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _next;
    private DateTimeOffset? _cursor;

    /// <summary>What <see cref="TryRead"/> found.</summary>
    public enum ReadResult
    {
        /// <summary>Events were added to the list, or none are there yet (wait on the task).</summary>
        Read,

        /// <summary>Events the reader had not read were overwritten: it fell more than <see cref="Capacity"/> behind.</summary>
        Overrun,
    }

    /// <summary>The position a stream starts reading from: events appended from now on.</summary>
    public long Head
    {
        get
        {
            lock (_lock)
            {
                return _next;
            }
        }
    }

    /// <summary>
    /// Adds the events from <paramref name="position"/> on to <paramref name="events"/> and moves the position past them.
    /// When there are none, <paramref name="advanced"/> completes once there may be (taken under the same lock, so no
    /// append slips between the look and the wait).
    /// </summary>
    public ReadResult TryRead(ref long position, List<RevocationEvent> events, out Task advanced)
    {
        ArgumentNullException.ThrowIfNull(events);
        lock (_lock)
        {
            advanced = _advanced.Task;
            if (position < _next - Capacity)
            {
                return ReadResult.Overrun;
            }
            for (; position < _next; position++)
            {
                events.Add(_ring[position % Capacity]);
            }
            return ReadResult.Read;
        }
    }

    /// <summary>A certificate's status changed, or all may have: the feed reads the database. Only signals; never blocks.</summary>
    public void Drop(CertificateStatusChange change) => _signal.Writer.TryWrite(true);

    /// <summary>
    /// Runs after the CRL feature rebuilt (it subscribed first): the CRL now served is remembered, so a client resuming
    /// from its number gets a short replay.
    /// </summary>
    public Task RebuildAsync(CertificateStatusChange change, CancellationToken cancellationToken)
    {
        history.Record(publisher.Published?.Issuing);
        return Task.CompletedTask;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await WaitForSignalAsync(stoppingToken);
                await ReadAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                // The window stays where it was: the next read (signal or poll) covers what this one missed.
                LogReadFailed(logger, exception);
            }
        }
    }

    /// <summary>Returns when a change was signalled or <see cref="PollInterval"/> has passed; the wait leaves nothing behind.</summary>
    private async Task WaitForSignalAsync(CancellationToken stoppingToken)
    {
        using var interval = new CancellationTokenSource(PollInterval, time);
        using var poll = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, interval.Token);
        try
        {
            await _signal.Reader.WaitToReadAsync(poll.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            // The interval passed without a signal: read anyway.
        }
        stoppingToken.ThrowIfCancellationRequested();
        _signal.Reader.TryRead(out _);
    }

    /// <summary>Reads the revocations in the window and appends the new ones; wakes the streams when it did.</summary>
    internal async Task ReadAsync(CancellationToken cancellationToken)
    {
        history.Record(publisher.Published?.Issuing);
        var started = time.GetUtcNow();
        var from = (_cursor ?? started) - Margin;
        List<RevocationEvent> read;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();
            var fromUtc = from.UtcDateTime;
            var now = started.UtcDateTime;
            var rows = await Revoked(db, now).Where(c => c.RevokedAt >= fromUtc).Select(CertificateRevocationRow.Columns).ToListAsync(cancellationToken);
            read = rows.ConvertAll(r => RevocationEvent.From(hierarchy.Issuing.Fingerprint, r.ToRevokedCertificate()));
        }
        TaskCompletionSource? advanced = null;
        lock (_lock)
        {
            foreach (var stale in _appended.Where(e => e.Value < from).Select(e => e.Key).ToList())
            {
                _appended.Remove(stale);
            }
            foreach (var revocation in read)
            {
                if (_appended.TryAdd(revocation.SerialNumber, revocation.RevokedAt))
                {
                    _ring[_next % Capacity] = revocation;
                    _next++;
                    advanced ??= _advanced;
                }
            }
            if (advanced is not null)
            {
                _advanced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            _cursor = started;
        }
        advanced?.SetResult();
    }

    /// <summary>
    /// The revocations of the issuing CA's unexpired certificates, all of them or (<paramref name="since"/>) those revoked
    /// from then on, read in pages of <see cref="ReplayPageSize"/> rows so no database connection is held while a slow
    /// client is written to.
    /// </summary>
    public async IAsyncEnumerable<RevocationEvent> ReplayAsync(DateTimeOffset? since, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var sinceUtc = since?.UtcDateTime;
        long after = 0;
        while (true)
        {
            List<(long Id, CertificateRevocationRow Row)> page;
            await _replayReads.WaitAsync(cancellationToken);
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();
                var query = Revoked(db, now).Where(c => c.Id > after);
                if (sinceUtc is { } from)
                {
                    query = query.Where(c => c.RevokedAt >= from);
                }
                var rows = await query.OrderBy(c => c.Id).Take(ReplayPageSize)
                    .Select(c => new { c.Id, c.SerialNumber, c.Status, c.RevokedAt, c.RevocationReason, c.InvalidityDate })
                    .ToListAsync(cancellationToken);
                page = rows.ConvertAll(r => (r.Id, new CertificateRevocationRow(r.SerialNumber, r.Status, r.RevokedAt, r.RevocationReason, r.InvalidityDate)));
            }
            finally
            {
                _replayReads.Release();
            }
            foreach (var (id, row) in page)
            {
                after = id;
                yield return RevocationEvent.From(hierarchy.Issuing.Fingerprint, row.ToRevokedCertificate());
            }
            if (page.Count < ReplayPageSize)
            {
                yield break;
            }
        }
    }

    /// <summary>
    /// Revoked certificates of the issuing CA that have not expired: those a CRL built now lists (RFC 5280 5.1.2.6 lets
    /// an expired certificate leave the CRL; it fails validation anyway).
    /// </summary>
    private IQueryable<CertificateRecord> Revoked(PkiDbContext db, DateTime nowUtc) =>
        db.Certificates.AsNoTracking().Where(c => c.Status == CertificateStatus.Revoked && c.NotAfter > nowUtc
            && c.IssuerFingerprint == hierarchy.Issuing.Fingerprint);

    [LoggerMessage(EventId = 4301, EventName = "RevocationFeedReadFailed", Level = LogLevel.Warning,
        Message = "Reading revocations for the revocation streams failed; the next read covers them")]
    private static partial void LogReadFailed(ILogger logger, Exception exception);
}
