using System.Collections.Concurrent;

namespace PkiService.AspNetCore.Revocation;

/// <summary>
/// The local revoked set of <see cref="PkiRevocationMode.Push"/> and <see cref="PkiRevocationMode.Crl"/>: the current
/// complete CRL's serials plus those learnt since (delta CRLs, stream events). Lookups are lock-free hash lookups (they
/// run on every request); changes take a lock. Rebuilt from each newer complete CRL plus the additions it may not list
/// yet. Additions only: nothing ever un-revokes a serial here.
/// </summary>
internal sealed class RevokedSet(TimeProvider time, int maxSerials)
{
    /// <summary>
    /// An addition revoked at or after the complete CRL's thisUpdate minus this margin may be missing from that CRL
    /// (clocks, commit delays; the stream's resume uses the same margin), so it is kept across the rebuild.
    /// </summary>
    public static readonly TimeSpan RebuildMargin = TimeSpan.FromMinutes(1);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, DateTimeOffset> _additions = new(StringComparer.Ordinal);
    private volatile ConcurrentDictionary<string, byte> _revoked = new(StringComparer.Ordinal);
    private volatile CrlInfo? _complete;
    private volatile bool _overflow;
    private volatile bool _streamLive;
    private long _newestAnnouncedCrl;

    /// <summary>The complete CRL the set is built on (null before the first).</summary>
    public sealed record CrlInfo(long Number, DateTimeOffset ThisUpdate, DateTimeOffset NextUpdate, DateTimeOffset FetchedAt);

    public CrlInfo? Complete => _complete;

    /// <summary>True while the revocation stream is connected and caught up (its <c>ready</c> event seen).</summary>
    public bool StreamLive
    {
        get => _streamLive;
        set => _streamLive = value;
    }

    /// <summary>More serials than <c>PkiClient:MaxRevokedSerials</c> were offered: every status not known revoked is unknown.</summary>
    public bool Overflow => _overflow;

    public int Count => _revoked.Count;

    /// <summary>The newest complete CRL number the stream has mentioned (its event ids); 0 when none.</summary>
    public long NewestAnnouncedCrl => Interlocked.Read(ref _newestAnnouncedCrl);

    public void AnnounceCrl(long number)
    {
        long seen;
        while (number > (seen = Interlocked.Read(ref _newestAnnouncedCrl)) && Interlocked.CompareExchange(ref _newestAnnouncedCrl, number, seen) != seen)
        {
        }
    }

    public RevocationStatus Status(string serialNumber)
    {
        if (_revoked.ContainsKey(serialNumber))
        {
            return RevocationStatus.Revoked;
        }
        if (_overflow || _complete is not { } crl)
        {
            return RevocationStatus.Unknown;
        }
        return _streamLive || time.GetUtcNow() < crl.NextUpdate ? RevocationStatus.Good : RevocationStatus.Unknown;
    }

    /// <summary>Installs a newer complete CRL (RFC 5280 5.2.3: numbers increase; an older or equal one is ignored). Returns whether it was taken.</summary>
    public bool ReplaceComplete(VerifiedCrl crl)
    {
        if (crl.IsDelta)
        {
            throw new ArgumentException("a delta CRL is applied with ApplyDelta", nameof(crl));
        }
        lock (_gate)
        {
            if (_complete is { } current && crl.Number <= current.Number)
            {
                return false;
            }
            var keepFrom = crl.ThisUpdate - RebuildMargin;
            foreach (var (serial, revokedAt) in _additions.ToList())
            {
                if (revokedAt < keepFrom)
                {
                    _additions.Remove(serial);
                }
            }
            var rebuilt = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
            var overflow = false;
            foreach (var serial in crl.Entries.Select(e => e.SerialNumber).Concat(_additions.Keys))
            {
                if (rebuilt.Count >= maxSerials)
                {
                    overflow = true;
                    break;
                }
                rebuilt.TryAdd(serial, 0);
            }
            _revoked = rebuilt;
            _overflow = overflow;
            _complete = new CrlInfo(crl.Number, crl.ThisUpdate, crl.NextUpdate, time.GetUtcNow());
            AnnounceCrl(crl.Number);
            return true;
        }
    }

    /// <summary>RFC 5280 5.2.4: a delta CRL lists what changed since its base; it applies to a complete CRL numbered at or above the base.</summary>
    public bool ApplyDelta(VerifiedCrl delta)
    {
        if (!delta.IsDelta)
        {
            throw new ArgumentException("not a delta CRL", nameof(delta));
        }
        if (_complete is not { } complete || delta.BaseNumber > complete.Number)
        {
            return false;
        }
        foreach (var (serial, revokedAt) in delta.Entries)
        {
            Add(serial, revokedAt);
        }
        return true;
    }

    /// <summary>One revocation learnt outside a complete CRL (a delta CRL entry or a stream event).</summary>
    public void Add(string serialNumber, DateTimeOffset revokedAt)
    {
        lock (_gate)
        {
            if (_revoked.ContainsKey(serialNumber))
            {
                return;
            }
            if (_revoked.Count >= maxSerials)
            {
                _overflow = true;
                return;
            }
            _additions[serialNumber] = revokedAt;
            _revoked.TryAdd(serialNumber, 0);
        }
    }
}
