using System.Numerics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using PkiService.Api.Infrastructure;
using PkiService.Api.Revocation;
using PkiService.Core.Authorities;
using PkiService.Core.Revocation;
using PkiService.Persistence;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Features.Crl;

/// <summary>
/// Builds, signs and caches the CRLs of both CAs. Requests only read the cache.
/// </summary>
/// <remarks>
/// <para>
/// The issuing CA publishes complete CRLs and delta CRLs (RFC 5280 5.2.4). A <em>base</em> complete CRL is issued at start
/// and by the timer before nextUpdate (together with the root's CRL); every revocation then issues a delta CRL listing
/// the revocations since that base, and also a new complete CRL. All of them draw their numbers from the one persisted
/// sequence of the CA (RFC 5280 5.2.4), complete CRL first, so a delta's number is above every complete CRL's before it.
/// </para>
/// <para>
/// Why the complete CRL is still rebuilt on every revocation: nginx <c>ssl_crl</c>, HAProxy and
/// <c>openssl verify -crl_check</c> read complete CRLs only, and the contract is that <c>/pki/crl</c> lists a serial as
/// soon as the revoke call returns. A revocation reads only the changes since the base from the database (the base's
/// entries stay in memory) and re-encodes the complete CRL with the streaming writer. Measured
/// (docs/benchmarks.md, <c>revocation-visibility</c>, 1,000,000 certificates, 100,000 revoked, 2 shared cores): reading
/// every revoked row on each revocation took 1.6 s; reading only the changes brings revocation-to-both-CRLs to about
/// 0.9 s, inside the one-second budget, so the rebuild stays synchronous instead of being coalesced in the background.
/// Concurrent revocations share one build.
/// </para>
/// </remarks>
public sealed partial class CrlPublisher(
    IServiceScopeFactory scopes,
    CaHierarchy hierarchy,
    IOptions<CrlOptions> crlOptions,
    IOptions<PkiOptions> pkiOptions,
    TimeProvider time,
    PkiMetrics metrics,
    ILogger<CrlPublisher> logger) : ICertificateStatusSubscriber
{
    /// <summary>
    /// A delta lists revocations from this long before its base's thisUpdate, so a revocation whose transaction
    /// started before the base read the database but committed after it is never missed. Listing an entry the
    /// base already has is harmless (the delta repeats what is true).
    /// </summary>
    public static readonly TimeSpan DeltaOverlap = TimeSpan.FromMinutes(5);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string? _freshestCrlUrl = PublicationPoints.ForIssuingCa(pkiOptions.Value.PublicBaseUrl).FreshestCrlUrl;
    private long _requested;
    private long _built;
    private long _newBaseRequested;
    private long _newBaseBuilt;
    private volatile CrlSet? _current;
    private BaseCrl? _base;

    /// <summary>The issuing CA's current complete CRL and delta CRL, the root's CRL, and the PEM bundle of both complete CRLs.</summary>
    public sealed record CrlSet(PublishedCrl Issuing, PublishedCrl Root, string BundlePem, PublishedCrl Delta);

    /// <summary>The complete CRL deltas are relative to: its number and the revocation time from which deltas list entries.</summary>
    /// <remarks>
    /// Its entries stay in memory so a revocation reads only the changes since the base. Certificates that expire after
    /// the base was built stay listed until the next base (RFC 5280 5.1.2.6 allows listing expired certificates).
    /// </remarks>
    private sealed record BaseCrl(BigInteger Number, DateTimeOffset ThisUpdate, DateTimeOffset NextUpdate, IReadOnlyCollection<RevokedCertificate> Entries);

    /// <summary>The CRLs now served, or null before the first build (never builds).</summary>
    public CrlSet? Published => _current;

    /// <summary>The CRLs now served. Builds them if nothing has been published yet.</summary>
    public async ValueTask<CrlSet> GetCurrentAsync(CancellationToken cancellationToken)
    {
        if (_current is { } current)
        {
            return current;
        }
        await EnsurePublishedAfterAsync(cancellationToken);
        return _current!;
    }

    /// <summary>
    /// Returns once CRLs built after this call started are published, so every revocation committed before the call
    /// is listed in both the complete and the delta CRL. Concurrent callers share builds. Issues a new base CRL
    /// (and root CRL) when none exists yet or the base is due (<see cref="IsDue"/>).
    /// </summary>
    public async Task EnsurePublishedAfterAsync(CancellationToken cancellationToken)
    {
        var ticket = Interlocked.Increment(ref _requested);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (Volatile.Read(ref _built) >= ticket)
            {
                return; // a build that started after our ticket already published
            }
            var coveredUpTo = Volatile.Read(ref _requested);
            await BuildAsync(cancellationToken);
            Volatile.Write(ref _built, coveredUpTo);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Like <see cref="EnsurePublishedAfterAsync"/>, but the CRLs published when this returns are a new base read in full
    /// from the database: for when any status may have changed (<see cref="ICertificateStatusChanges.AllStatusesMayHaveChangedAsync"/>),
    /// since an incremental build reads only revocations dated after the base and would miss an older one it was not told of.
    /// </summary>
    public Task RebuildFromDatabaseAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _newBaseRequested); // before the ticket, so the build that serves the ticket sees it
        return EnsurePublishedAfterAsync(cancellationToken);
    }

    /// <summary>
    /// The CRLs follow a status change before it is reported done: one certificate's change is read by the next
    /// incremental build; "all may have changed" issues a new base read in full.
    /// </summary>
    Task ICertificateStatusSubscriber.RebuildAsync(CertificateStatusChange change, CancellationToken cancellationToken) =>
        change.IsAll ? RebuildFromDatabaseAsync(cancellationToken) : EnsurePublishedAfterAsync(cancellationToken);

    /// <summary>
    /// True when the refresh job should build: the base CRL (and the root CRL issued with it) is due for re-issue
    /// (RFC 5280 5.1.2.5: before nextUpdate), or a build that was asked for has not been published (it failed, e.g. the
    /// database was full after a revocation committed), so the job retries it instead of serving a CRL that misses a
    /// revocation until nextUpdate.
    /// </summary>
    public bool IsDue(DateTimeOffset now) =>
        Volatile.Read(ref _built) < Volatile.Read(ref _requested) || IsBaseDue(now);

    /// <summary>True when the base CRL (and the root CRL issued with it) must be re-issued in full.</summary>
    private bool IsBaseDue(DateTimeOffset now) =>
        Volatile.Read(ref _newBaseBuilt) < Volatile.Read(ref _newBaseRequested)
        || _current is not { } current
        || _base is not { } baseCrl
        || now >= baseCrl.NextUpdate - crlOptions.Value.RefreshBeforeDuration
        || now >= current.Root.NextUpdate - crlOptions.Value.RefreshBeforeDuration;

    private async Task BuildAsync(CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var thisUpdate = TruncateToSeconds(time.GetUtcNow());
        var nextUpdate = thisUpdate + crlOptions.Value.ValidityDuration;
        var newBaseUpTo = Volatile.Read(ref _newBaseRequested); // read before the database is
        var newBase = IsBaseDue(thisUpdate);

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();

        // RFC 5280 5.2.4: the complete CRL and its delta take consecutive numbers from the CA's one sequence.
        var issuingNumber = await NextCrlNumbersAsync(db, hierarchy.Issuing, 2, cancellationToken);
        var builder = new CrlBuilder(hierarchy.Issuing, _freshestCrlUrl);
        BaseCrl baseCrl;
        List<RevokedCertificate> changes;
        IEnumerable<RevokedCertificate> complete;
        if (newBase || _base is null)
        {
            var all = await ReadRevokedAsync(db, thisUpdate, since: null, cancellationToken);
            baseCrl = new BaseCrl(issuingNumber, thisUpdate, nextUpdate, all);
            var overlapStart = thisUpdate - DeltaOverlap;
            changes = all.FindAll(e => e.RevocationDate >= overlapStart);
            complete = all;
        }
        else
        {
            // O(changes) from the database: only the revocations since the base are read; the base's entries are in
            // memory, and the complete CRL is the base plus the changes (the overlap window may repeat a serial).
            baseCrl = _base;
            changes = await ReadRevokedAsync(db, thisUpdate, baseCrl.ThisUpdate - DeltaOverlap, cancellationToken);
            var changed = changes.Select(e => e.SerialNumber).ToHashSet();
            complete = changes.Count == 0 ? baseCrl.Entries : baseCrl.Entries.Where(e => !changed.Contains(e.SerialNumber)).Concat(changes);
        }
        var issuing = builder.Build(issuingNumber, thisUpdate, nextUpdate, complete);
        var delta = builder.BuildDelta(issuingNumber + 1, baseCrl.Number, thisUpdate, nextUpdate, changes);

        var root = _current?.Root;
        if (newBase || root is null)
        {
            // The root has signed only the issuing CA; this service never revokes it, so the root CRL is empty.
            var rootNumber = await NextCrlNumbersAsync(db, hierarchy.Root, 1, cancellationToken);
            root = new PublishedCrl(new CrlBuilder(hierarchy.Root).Build(rootNumber, thisUpdate, nextUpdate, []));
        }

        _current = new CrlSet(new PublishedCrl(issuing), root, issuing.Pem + root.Pem, new PublishedCrl(delta));
        _base = baseCrl;
        if (newBase)
        {
            Volatile.Write(ref _newBaseBuilt, newBaseUpTo);
        }
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        metrics.CrlBuilt(elapsed);
        LogPublished(logger, issuingNumber, issuing.EntryCount, delta.CrlNumber, delta.EntryCount, baseCrl.Number, root.Crl.CrlNumber, nextUpdate,
            elapsed.TotalMilliseconds);
    }

    /// <summary>
    /// The issuing CA's revoked certificates that have not expired, all of them or those revoked from <paramref name="since"/> on.
    /// Certificates past notAfter may leave the CRL (RFC 5280 5.1.2.6 allows it; they fail validation anyway).
    /// </summary>
    private async Task<List<RevokedCertificate>> ReadRevokedAsync(PkiDbContext db, DateTimeOffset now, DateTimeOffset? since, CancellationToken cancellationToken)
    {
        var notAfter = now.UtcDateTime;
        var query = db.Certificates.AsNoTracking()
            .Where(c => c.Status == CertificateStatus.Revoked && c.NotAfter > notAfter && c.IssuerFingerprint == hierarchy.Issuing.Fingerprint);
        if (since is { } from)
        {
            var fromUtc = from.UtcDateTime;
            query = query.Where(c => c.RevokedAt >= fromUtc);
        }
        var rows = await query.Select(CertificateRevocationRow.Columns).ToListAsync(cancellationToken);
        return rows.ConvertAll(r => r.ToRevokedCertificate());
    }

    /// <summary>
    /// Reserves <paramref name="count"/> consecutive CRL numbers and returns the first. RFC 5280 5.2.3: the CRL number
    /// strictly increases; it is committed before a CRL that carries it is published.
    /// </summary>
    private async Task<BigInteger> NextCrlNumbersAsync(PkiDbContext db, CertificateAuthority ca, int count, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var record = await db.CrlNumbers.FirstOrDefaultAsync(n => n.IssuerFingerprint == ca.Fingerprint, cancellationToken);
        if (record is null)
        {
            record = new CrlNumberRecord { IssuerFingerprint = ca.Fingerprint };
            db.CrlNumbers.Add(record);
        }
        var first = record.LastNumber + 1;
        record.LastNumber += count;
        record.UpdatedAt = time.GetUtcNow().UtcDateTime;
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return first;
    }

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset value) =>
        new(value.Ticks - value.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);

    [LoggerMessage(EventId = 5001, EventName = "CrlPublished", Level = LogLevel.Information,
        Message = "Published CRL {CrlNumber} with {EntryCount} entries, delta CRL {DeltaCrlNumber} with {DeltaEntryCount} entries over base {BaseCrlNumber}, root CRL {RootCrlNumber}; nextUpdate {NextUpdate:O}; built in {ElapsedMs:F1} ms")]
    private static partial void LogPublished(ILogger logger, BigInteger crlNumber, int entryCount, BigInteger deltaCrlNumber, int deltaEntryCount,
        BigInteger baseCrlNumber, BigInteger rootCrlNumber, DateTimeOffset nextUpdate, double elapsedMs);
}
