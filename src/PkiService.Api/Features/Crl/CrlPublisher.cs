using System.Numerics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using PkiService.Api.Infrastructure;
using PkiService.Core.Authorities;
using PkiService.Core.Primitives;
using PkiService.Core.Revocation;
using PkiService.Persistence;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Features.Crl;

/// <summary>
/// Builds, signs and caches the CRLs of both CAs. Requests only read the cache. A CRL is rebuilt when a
/// revocation asks for it (concurrent requests share one build) and on a timer before nextUpdate.
/// </summary>
public sealed partial class CrlPublisher(
    IServiceScopeFactory scopes,
    CaHierarchy hierarchy,
    IOptions<CrlOptions> options,
    TimeProvider time,
    PkiMetrics metrics,
    ILogger<CrlPublisher> logger)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _requested;
    private long _built;
    private volatile CrlSet? _current;

    /// <summary>The issuing CA's and the root's current CRLs, and the PEM bundle of both.</summary>
    public sealed record CrlSet(PublishedCrl Issuing, PublishedCrl Root, string BundlePem);

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
    /// Returns once a CRL built after this call started is published, so every revocation committed before
    /// the call is listed. Concurrent callers share builds.
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
    /// True when the published CRLs are due for re-issue (RFC 5280 5.1.2.5: before nextUpdate), or when a build that was
    /// asked for has not been published (it failed, e.g. the database was full after a revocation committed): the refresh
    /// job then retries it instead of serving a CRL that misses a revocation until nextUpdate.
    /// </summary>
    public bool IsDue(DateTimeOffset now) =>
        Volatile.Read(ref _built) < Volatile.Read(ref _requested)
        || _current is not { } current
        || now >= current.Issuing.NextUpdate - options.Value.RefreshBeforeDuration
        || now >= current.Root.NextUpdate - options.Value.RefreshBeforeDuration;

    private async Task BuildAsync(CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var thisUpdate = TruncateToSeconds(time.GetUtcNow());
        var nextUpdate = thisUpdate + options.Value.ValidityDuration;

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();

        // Certificates past notAfter may leave the CRL (RFC 5280 5.1.2.6 allows it; they fail validation anyway).
        var now = thisUpdate.UtcDateTime;
        var rows = await db.Certificates.AsNoTracking()
            .Where(c => c.Status == CertificateStatus.Revoked && c.NotAfter > now && c.IssuerFingerprint == hierarchy.Issuing.Fingerprint)
            .OrderBy(c => c.Id)
            .Select(c => new { c.SerialNumber, c.RevokedAt, c.RevocationReason, c.InvalidityDate })
            .ToListAsync(cancellationToken);
        var entries = rows.Select(r => new RevokedCertificate(
            SerialNumber.Parse(r.SerialNumber),
            new DateTimeOffset(r.RevokedAt!.Value, TimeSpan.Zero),
            RevocationReasons.TryParse(r.RevocationReason, out var reason) ? reason : RevocationReason.Unspecified,
            r.InvalidityDate is { } invalidity ? new DateTimeOffset(invalidity, TimeSpan.Zero) : null));

        var issuingNumber = await NextCrlNumberAsync(db, hierarchy.Issuing, cancellationToken);
        var issuing = new CrlBuilder(hierarchy.Issuing).Build(issuingNumber, thisUpdate, nextUpdate, entries);
        // The root has signed only the issuing CA; this service never revokes it, so the root CRL is empty.
        var rootNumber = await NextCrlNumberAsync(db, hierarchy.Root, cancellationToken);
        var root = new CrlBuilder(hierarchy.Root).Build(rootNumber, thisUpdate, nextUpdate, []);

        _current = new CrlSet(new PublishedCrl(issuing), new PublishedCrl(root), issuing.Pem + root.Pem);
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        metrics.CrlBuilt(elapsed);
        LogPublished(logger, issuingNumber, issuing.EntryCount, rootNumber, nextUpdate, elapsed.TotalMilliseconds);
    }

    /// <summary>RFC 5280 5.2.3: the CRL number strictly increases; it is committed before the CRL that carries it is published.</summary>
    private async Task<BigInteger> NextCrlNumberAsync(PkiDbContext db, CertificateAuthority ca, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var record = await db.CrlNumbers.FirstOrDefaultAsync(n => n.IssuerFingerprint == ca.Fingerprint, cancellationToken);
        if (record is null)
        {
            record = new CrlNumberRecord { IssuerFingerprint = ca.Fingerprint };
            db.CrlNumbers.Add(record);
        }
        record.LastNumber++;
        record.UpdatedAt = time.GetUtcNow().UtcDateTime;
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return record.LastNumber;
    }

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset value) =>
        new(value.Ticks - value.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);

    [LoggerMessage(EventId = 5001, EventName = "CrlPublished", Level = LogLevel.Information,
        Message = "Published CRL {CrlNumber} with {EntryCount} entries and root CRL {RootCrlNumber}; nextUpdate {NextUpdate:O}; built in {ElapsedMs:F1} ms")]
    private static partial void LogPublished(ILogger logger, BigInteger crlNumber, int entryCount, BigInteger rootCrlNumber, DateTimeOffset nextUpdate, double elapsedMs);
}
