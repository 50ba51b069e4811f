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
/// <para>
/// On a shared database (<see cref="IPkiDatabase.IsShared"/>, several nodes) only the node that holds the CRL builder
/// lease (<see cref="CrlBuilderLease"/>) builds. It writes what it signs into <c>PublishedCrls</c> in a transaction that
/// first checks it still holds the lease (fencing: a holder that lost it publishes nothing) and announces the new CRL
/// number on <see cref="PublishedCrlTable.Channel"/>. Every node, the holder too, serves exactly those bytes; the others
/// load them on the announcement and by polling (<see cref="CrlClusterJob"/>), only ever moving to a higher CRL number.
/// </para>
/// </remarks>
public sealed partial class CrlPublisher(
    IServiceScopeFactory scopes,
    CaHierarchy hierarchy,
    IOptions<CrlOptions> crlOptions,
    IOptions<PkiOptions> pkiOptions,
    TimeProvider time,
    PkiMetrics metrics,
    IPkiDatabase database,
    CrlBuilderLease lease,
    ILogger<CrlPublisher> logger) : ICertificateStatusSubscriber, IClusterNotificationSubscriber
{
    /// <summary>
    /// A delta lists revocations from this long before its base's thisUpdate, so a revocation whose transaction
    /// started before the base read the database but committed after it is never missed. Listing an entry the
    /// base already has is harmless (the delta repeats what is true).
    /// </summary>
    public static readonly TimeSpan DeltaOverlap = TimeSpan.FromMinutes(5);

    /// <summary>
    /// On a shared database, how long a node that does not build waits for the holder's CRL that covers a status
    /// change before its revoke call answers anyway (the CRL follows when the holder publishes).
    /// </summary>
    public static readonly TimeSpan FollowerWait = TimeSpan.FromSeconds(2);

    /// <summary>How often a waiting follower reads the published CRL number when no announcement came.</summary>
    private static readonly TimeSpan FollowerRecheck = TimeSpan.FromMilliseconds(50);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _currentLock = new();
    private TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string? _freshestCrlUrl = PublicationPoints.ForIssuingCa(pkiOptions.Value.PublicBaseUrl).FreshestCrlUrl;
    private long _requested;
    private long _built;
    private long _newBaseRequested;
    private long _newBaseBuilt;
    private volatile CrlSet? _current;
    private BaseCrl? _base;

    /// <summary>
    /// The issuing CA's current complete CRL and delta CRL, the root's CRL, and the PEM bundle of both complete CRLs.
    /// <see cref="Root"/> is null while an external root's CRL has not been uploaded (<c>PUT /api/v1/root-crl</c>).
    /// </summary>
    public sealed record CrlSet(PublishedCrl Issuing, PublishedCrl? Root, string BundlePem, PublishedCrl Delta);

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
    /// <remarks>
    /// On a shared database: the lease holder builds (a node takes the lease here when it is free, e.g. at the
    /// cluster's first start); any other node loads what is published and returns, waiting only while nothing is
    /// published at all (another node is building the first CRLs).
    /// </remarks>
    public async Task EnsurePublishedAfterAsync(CancellationToken cancellationToken)
    {
        if (!database.IsShared)
        {
            await BuildAfterAsync(cancellationToken);
            return;
        }
        var started = time.GetTimestamp();
        var patience = crlOptions.Value.LeaseDurationValue * 2 + TimeSpan.FromSeconds(5);
        while (true)
        {
            if ((lease.IsHeld || await lease.TryAcquireAsync(cancellationToken)) && await BuildAfterAsync(cancellationToken))
            {
                return;
            }
            await ReloadAsync(cancellationToken);
            if (_current is not null)
            {
                return;
            }
            if (time.GetElapsedTime(started) > patience)
            {
                throw new InvalidOperationException(
                    $"No CRL is published in the database and another node holds the CRL builder lease without publishing one after {patience.TotalSeconds:F0} s.");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(200), time, cancellationToken);
        }
    }

    /// <summary>
    /// This node took the lease: the base in memory may be older than what another holder published since, so the
    /// next build is a new base read in full; it builds now.
    /// </summary>
    public Task TookOverAsync(CancellationToken cancellationToken) => RebuildFromDatabaseAsync(cancellationToken);

    /// <summary>
    /// Builds unless a build that started after this call already published. False when the build was fenced out (on a
    /// shared database this node no longer holds the lease) and published nothing.
    /// </summary>
    private async Task<bool> BuildAfterAsync(CancellationToken cancellationToken)
    {
        var ticket = Interlocked.Increment(ref _requested);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (Volatile.Read(ref _built) >= ticket)
            {
                return true; // a build that started after our ticket already published
            }
            var coveredUpTo = Volatile.Read(ref _requested);
            if (!await BuildAsync(cancellationToken))
            {
                return false;
            }
            Volatile.Write(ref _built, coveredUpTo);
            return true;
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
    /// incremental build; "all may have changed" issues a new base read in full. On a shared database a node that does
    /// not hold the lease cannot build: it waits (at most <see cref="FollowerWait"/>) until it has loaded a CRL the holder
    /// built after the change, or, for "all may have changed", reloads what is published.
    /// </summary>
    async Task ICertificateStatusSubscriber.RebuildAsync(CertificateStatusChange change, CancellationToken cancellationToken)
    {
        if (!database.IsShared)
        {
            await (change.IsAll ? RebuildFromDatabaseAsync(cancellationToken) : EnsurePublishedAfterAsync(cancellationToken));
            return;
        }
        if (lease.IsHeld)
        {
            if (change.IsAll)
            {
                Interlocked.Increment(ref _newBaseRequested);
            }
            if (await BuildAfterAsync(cancellationToken))
            {
                return;
            }
        }
        if (change.IsAll)
        {
            await ReloadAsync(cancellationToken);
            return;
        }
        await WaitForCoveringCrlAsync(change, cancellationToken);
    }

    /// <summary>
    /// Waits until this node serves CRLs that reflect <paramref name="change"/>, committed before the call: both the
    /// complete and the delta CRL list the serial (a revocation, the only change that reaches here today), or the
    /// complete CRL's number is above the issuing CA's last reserved CRL number read now. The holder reserves numbers
    /// before it reads the revocations (<see cref="BuildAsync"/>), so a higher number was reserved after this read,
    /// hence after the change committed, and its build read the change (the serial test covers a holder that reserved
    /// between the commit and this read). Bounded by <see cref="FollowerWait"/>; the CRL comes later if the holder is slow.
    /// </summary>
    private async Task WaitForCoveringCrlAsync(CertificateStatusChange change, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        long lastReserved;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();
            lastReserved = await db.CrlNumbers.AsNoTracking().Where(n => n.IssuerFingerprint == hierarchy.Issuing.Fingerprint)
                .Select(n => n.LastNumber).FirstOrDefaultAsync(cancellationToken);
        }
        BigInteger? serial = change.IssuerFingerprint == hierarchy.Issuing.Fingerprint
            ? BigInteger.Parse("0" + change.SerialNumber.Hex, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture)
            : null;
        CrlSet? checkedSet = null;
        var leaseChecked = false;
        while (_current is not { } current || !Covers(current))
        {
            if (lease.IsHeld && await BuildAfterAsync(cancellationToken))
            {
                return; // this node became the holder meanwhile
            }
            if (!leaseChecked)
            {
                // Nobody builds while the lease is vacant (its holder died and it has expired): take it rather than wait.
                leaseChecked = true;
                if ((await lease.ReadAsync(cancellationToken)).Remaining <= TimeSpan.Zero && await lease.TryAcquireAsync(cancellationToken))
                {
                    await TookOverAsync(cancellationToken);
                    return;
                }
            }
            if (time.GetElapsedTime(started) >= FollowerWait)
            {
                LogFollowerWaitTimedOut(logger, lastReserved, FollowerWait.TotalSeconds);
                return;
            }
            Task loaded;
            lock (_currentLock)
            {
                loaded = _loaded.Task;
            }
            await Task.WhenAny(loaded, Task.Delay(FollowerRecheck, time, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
            await ReloadAsync(cancellationToken);
        }

        bool Covers(CrlSet set)
        {
            if (set.Issuing.Crl.CrlNumber > lastReserved)
            {
                return true;
            }
            if (serial is not { } listed || ReferenceEquals(set, checkedSet))
            {
                return false;
            }
            checkedSet = set; // each loaded set is scanned once
            return PublishedCrlTable.Lists(set.Issuing.Crl.Der, listed) && PublishedCrlTable.Lists(set.Delta.Crl.Der, listed);
        }
    }

    /// <summary>
    /// On a shared database: loads the CRLs published in the database when they are newer than those served (a higher
    /// complete CRL number), so a node never goes back to an older CRL. One cheap read of the number when nothing changed.
    /// Returns true when it loaded newer CRLs. Does nothing on a database no other node shares.
    /// </summary>
    public async Task<bool> ReloadAsync(CancellationToken cancellationToken)
    {
        if (!database.IsShared)
        {
            return false;
        }
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();
        var number = await PublishedCrlTable.CompleteNumberAsync(db, hierarchy.Issuing, cancellationToken);
        if (number is null || (_current is { } current && current.Issuing.Crl.CrlNumber >= number))
        {
            return false;
        }
        if (await PublishedCrlTable.ReadAsync(db, hierarchy, cancellationToken) is not var (issuing, delta, root))
        {
            return false;
        }
        var loaded = Serve(issuing, root is null ? null : new PublishedCrl(root), delta);
        if (loaded)
        {
            LogLoaded(logger, issuing.CrlNumber, issuing.EntryCount, delta.CrlNumber, root?.CrlNumber ?? BigInteger.MinusOne, issuing.NextUpdate);
        }
        return loaded;
    }

    /// <summary>
    /// Serves <paramref name="root"/>, an external root's CRL an admin uploaded (and stored for every node), from now on,
    /// with the issuing CA's CRLs already served.
    /// </summary>
    public async Task ServeUploadedRootAsync(SignedCrl root, CancellationToken cancellationToken)
    {
        await GetCurrentAsync(cancellationToken);
        ServeRoot(root);
    }

    /// <summary>
    /// The payload announcing an uploaded root CRL on <see cref="PublishedCrlTable.Channel"/> (an issuing CA's
    /// publication announces its bare number).
    /// </summary>
    public static string RootUploadPayload(BigInteger crlNumber) => RootPayloadPrefix + crlNumber.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private const string RootPayloadPrefix = "root:";

    /// <summary>
    /// On a shared database with an external root: serves the root CRL stored there when it is newer than the one served
    /// (another node's upload). True when it was.
    /// </summary>
    public async Task<bool> ReloadUploadedRootAsync(CancellationToken cancellationToken)
    {
        if (!database.IsShared || !hierarchy.IsRootExternal || _current is null)
        {
            return false; // before the first CRLs are served, loading them reads the root CRL too
        }
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();
        return await PublishedCrlTable.ReadRootAsync(db, hierarchy, cancellationToken) is { } root && ServeRoot(root);
    }

    /// <summary>Serves <paramref name="root"/> as the root's CRL unless one with a higher number is served (RFC 5280 5.2.3). True when it was.</summary>
    private bool ServeRoot(SignedCrl root)
    {
        lock (_currentLock)
        {
            if (_current is not { } current || (current.Root is { } served && served.Crl.CrlNumber >= root.CrlNumber))
            {
                return false;
            }
            _current = current with { Root = new PublishedCrl(root), BundlePem = current.Issuing.Pem + root.Pem };
            return true;
        }
    }

    /// <summary>
    /// Makes <paramref name="issuing"/>, <paramref name="root"/> and <paramref name="delta"/> the CRLs served, unless
    /// CRLs with a higher number are served already (RFC 5280 5.2.3: what a node serves never goes back), and wakes
    /// followers waiting for a CRL.
    /// </summary>
    private bool Serve(SignedCrl issuing, PublishedCrl? root, SignedCrl delta)
    {
        lock (_currentLock)
        {
            if (_current is { } current && current.Issuing.Crl.CrlNumber >= issuing.CrlNumber)
            {
                return false;
            }
            _current = new CrlSet(new PublishedCrl(issuing), root, issuing.Pem + root?.Pem, new PublishedCrl(delta));
            var loaded = _loaded;
            _loaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            loaded.SetResult();
            return true;
        }
    }

    string IClusterNotificationSubscriber.Channel => PublishedCrlTable.Channel;

    /// <summary>Listening (again): a publication may have been missed, so load what is published.</summary>
    async Task IClusterNotificationSubscriber.ListeningAsync(CancellationToken cancellationToken)
    {
        await ReloadAsync(cancellationToken);
        await ReloadUploadedRootAsync(cancellationToken);
    }

    /// <summary>Nothing to drop: the CRLs served stay valid until nextUpdate, and polling goes on while announcements may be missed.</summary>
    void IClusterNotificationSubscriber.Lost()
    {
    }

    /// <summary>A node published CRL number <paramref name="payload"/>: load it unless it is served already.</summary>
    /// <remarks>An uploaded root CRL is announced as <c>root:</c> and its number (<see cref="RootUploadPayload"/>).</remarks>
    Task IClusterNotificationSubscriber.NotifiedAsync(string payload, CancellationToken cancellationToken) =>
        payload.StartsWith(RootPayloadPrefix, StringComparison.Ordinal)
            ? ReloadUploadedRootAsync(cancellationToken)
            : long.TryParse(payload, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number)
        && _current is { } current && current.Issuing.Crl.CrlNumber >= number
            ? Task.CompletedTask
            : ReloadAsync(cancellationToken);

    /// <summary>
    /// True when the refresh job should build: the base CRL (and the root CRL issued with it) is due for re-issue
    /// (RFC 5280 5.1.2.5: before nextUpdate), or a build that was asked for has not been published (it failed, e.g. the
    /// database was full after a revocation committed), so the job retries it instead of serving a CRL that misses a
    /// revocation until nextUpdate.
    /// </summary>
    /// <remarks>On a shared database only the lease holder builds, so on any other node nothing is ever due.</remarks>
    public bool IsDue(DateTimeOffset now) =>
        (!database.IsShared || lease.IsHeld) && (Volatile.Read(ref _built) < Volatile.Read(ref _requested) || IsBaseDue(now));

    /// <summary>True when the base CRL (and the root CRL issued with it) must be re-issued in full.</summary>
    private bool IsBaseDue(DateTimeOffset now) =>
        Volatile.Read(ref _newBaseBuilt) < Volatile.Read(ref _newBaseRequested)
        || _current is not { } current
        || _base is not { } baseCrl
        || now >= baseCrl.NextUpdate - crlOptions.Value.RefreshBeforeDuration
        || (!hierarchy.IsRootExternal && current.Root is { } root && now >= root.NextUpdate - crlOptions.Value.RefreshBeforeDuration);

    /// <summary>Builds, signs and publishes; false when, on a shared database, the lease was lost and nothing was published.</summary>
    private async Task<bool> BuildAsync(CancellationToken cancellationToken)
    {
        // On a shared database the build belongs to the lease generation held when it starts; publishing checks it.
        var generation = lease.Generation;
        if (database.IsShared && generation is null)
        {
            return false;
        }
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
        if (hierarchy.IsRootExternal)
        {
            // An offline root's CRL is signed offline and uploaded (PUT /api/v1/root-crl): served as stored, never signed here.
            root = await PublishedCrlTable.ReadRootAsync(db, hierarchy, cancellationToken) is { } uploaded ? new PublishedCrl(uploaded) : null;
        }
        else if (newBase || root is null)
        {
            // The root has signed only the issuing CA; this service never revokes it, so the root CRL is empty.
            var rootNumber = await NextCrlNumbersAsync(db, hierarchy.Root, 1, cancellationToken);
            root = new PublishedCrl(new CrlBuilder(hierarchy.Root).Build(rootNumber, thisUpdate, nextUpdate, []));
        }

        if (database.IsShared && !await PublishAsync(db, generation!.Value, issuing, delta, hierarchy.IsRootExternal ? null : root!.Crl, cancellationToken))
        {
            return false;
        }
        Serve(issuing, root, delta);
        _base = baseCrl;
        if (newBase)
        {
            Volatile.Write(ref _newBaseBuilt, newBaseUpTo);
        }
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        metrics.CrlBuilt(elapsed);
        LogPublished(logger, issuingNumber, issuing.EntryCount, delta.CrlNumber, delta.EntryCount, baseCrl.Number, root?.Crl.CrlNumber ?? BigInteger.MinusOne, nextUpdate,
            elapsed.TotalMilliseconds);
        return true;
    }

    /// <summary>
    /// Writes the CRLs into <c>PublishedCrls</c> for every node to serve and announces the number, in one write
    /// transaction that first checks this node still holds the lease at <paramref name="generation"/>: the write lock
    /// keeps any other node from taking the lease over until it commits, so a holder that lost the lease (it stalled
    /// past the expiry and another node took over) publishes nothing. False when fenced out.
    /// </summary>
    private async Task<bool> PublishAsync(PkiDbContext db, long generation, SignedCrl issuing, SignedCrl delta, SignedCrl? root, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (!await DatabaseLeases.IsHeldAsync(db, CrlBuilderLease.Name, lease.Holder, generation, cancellationToken))
        {
            LogPublishFenced(logger, issuing.CrlNumber, generation);
            lease.Fenced(generation);
            return false;
        }
        // An external root's row is the admin's upload: left as it is.
        await PublishedCrlTable.ReplaceAsync(db,
            root is null ? [(hierarchy.Issuing, issuing), (hierarchy.Issuing, delta)] : [(hierarchy.Issuing, issuing), (hierarchy.Issuing, delta), (hierarchy.Root, root)],
            cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        await database.NotifyAsync(db, PublishedCrlTable.Channel, issuing.CrlNumber.ToString(System.Globalization.CultureInfo.InvariantCulture), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
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

    [LoggerMessage(EventId = 5006, EventName = "CrlPublishFenced", Level = LogLevel.Warning,
        Message = "Built CRL {CrlNumber} but did not publish it: this node no longer holds the CRL builder lease at generation {Generation}")]
    private static partial void LogPublishFenced(ILogger logger, BigInteger crlNumber, long generation);

    [LoggerMessage(EventId = 5007, EventName = "CrlLoaded", Level = LogLevel.Debug,
        Message = "Loaded published CRL {CrlNumber} with {EntryCount} entries, delta CRL {DeltaCrlNumber}, root CRL {RootCrlNumber}; nextUpdate {NextUpdate:O}")]
    private static partial void LogLoaded(ILogger logger, BigInteger crlNumber, int entryCount, BigInteger deltaCrlNumber, BigInteger rootCrlNumber, DateTimeOffset nextUpdate);

    [LoggerMessage(EventId = 5008, EventName = "CrlFollowerWaitTimedOut", Level = LogLevel.Warning,
        Message = "No CRL numbered above {LastReservedCrlNumber} was published within {WaitSeconds} s of a status change; the CRLs this node serves list it once the CRL builder lease holder publishes")]
    private static partial void LogFollowerWaitTimedOut(ILogger logger, long lastReservedCrlNumber, double waitSeconds);
}
