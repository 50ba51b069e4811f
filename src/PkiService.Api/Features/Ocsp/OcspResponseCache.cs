using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using PkiService.Api.Revocation;
using PkiService.Core.Ocsp;
using PkiService.Core.Primitives;
using PkiService.Core.Revocation;

namespace PkiService.Api.Features.Ocsp;

/// <summary>
/// Signed responses to nonce-less single-certificate requests (RFC 5019 2.1.1 allows pre-produced responses),
/// kept until shortly before nextUpdate or until the certificate's status changes.
/// </summary>
/// <remarks>
/// Three tables, each bounded in bytes (shares of <see cref="OcspOptions.CacheMaxBytes"/>) and swept by
/// <see cref="ByteBoundedMap{TKey, TValue}"/> when full. Nothing enters them that the cache cannot answer from: replies
/// only for certificates whose status is known (good or revoked), request bytes only in their plain form and only once
/// their reply is held, statuses only when known. Unknown serials, issuers not held, nonces, extensions and oversized
/// requests leave every table as it was.
/// <para>
/// While <see cref="StatusCacheTrust"/> withholds trust (this node may have missed another node's revocation), the cache
/// answers nothing and keeps nothing: every request is read from the database and signed afresh. Losing trust empties it.
/// </para>
/// </remarks>
public sealed partial class OcspResponseCache : ICertificateStatusSubscriber
{
    /// <summary>Smallest <see cref="OcspOptions.CacheMaxBytes"/> accepted (16 KiB).</summary>
    public const long MinimumMaxBytes = 16 * 1024;

    // Estimated bytes a row holds besides its DER: dictionary node and bucket, row, Entry and OcspReply objects,
    // ETag and serial strings, the states list. Each estimate is a little above the heap a row was measured to keep
    // (`PkiService.Benchmarks ocsp-cache-memory`, docs/benchmarks.md): reply 1,354 bytes with an 805-octet DER.
    private const int ReplyRowOverhead = 576;

    // Dictionary node and bucket, row, byte[] header, the key's serial string (measured: 322 bytes with an 83-octet request).
    private const int RequestRowOverhead = 256;

    // A status row is of fixed size: node and bucket, row with the status inline, the serial string (measured: 221 bytes).
    private const int StatusRowBytes = 256;

    /// <summary>A cached reply and its HTTP validator.</summary>
    public sealed record Entry(OcspReply Reply, string ETag);

    /// <summary>One table's use: rows, estimated bytes, its bound and how many rows sweeps removed to stay under it.</summary>
    public readonly record struct TableUsage(string Table, int Count, long Bytes, long MaxBytes, long Evictions);

    // Replies by (CA, serial, CertID hash): 11/16 of the budget. The shares give each table room for about the same
    // number of certificates (about 1,380, 340 and 256 bytes per certificate asked about with one CertID hash).
    private readonly ByteBoundedMap<OcspCacheKey, Entry> _replies;

    // Fast path: the exact DER of a plain request seen before -> its cache key, so a repeated request (gateways send
    // the same bytes for the same certificate) is answered without parsing it. The key still goes through _replies,
    // so invalidation there covers this path too. 3/16 of the budget.
    private readonly ByteBoundedMap<byte[], OcspCacheKey> _keysByRequest;

    // Known statuses (good or revoked; never unknown, which may change when the serial is issued), so requests that
    // must be signed afresh (nonces) do not each query the database. The remaining 2/16 of the budget.
    private readonly ByteBoundedMap<(string Issuer, SerialNumber Serial), RevocationStatus> _statuses;
    private readonly StatusCacheTrust _trust;

    // Taken to drop rows (then the generation moves on, once they are all gone) and to keep a row read under a given
    // generation, so the two never interleave: a build that read its status before or during a drop finds the
    // generation moved and keeps nothing; one that read it after the drop read the database after the change. Keeping
    // happens only on a miss (next to a signature or a database read), so the lock is never on the cached path.
    private readonly Lock _keeping = new();
    private long _generation;

    /// <param name="options">The <c>Ocsp</c> options (<see cref="OcspOptions.CacheMaxBytes"/>).</param>
    /// <param name="logger">Where a retired setting is reported.</param>
    /// <param name="trust">Whether the cache may answer; always when not given (one node alone).</param>
    public OcspResponseCache(IOptions<OcspOptions> options, ILogger<OcspResponseCache>? logger = null, StatusCacheTrust? trust = null)
    {
        var maxBytes = options.Value.CacheMaxBytes;
        if (options.Value.CacheCapacity is { } retired && logger is not null)
        {
            LogCacheCapacityIgnored(logger, retired, maxBytes);
        }
        if (maxBytes < MinimumMaxBytes)
        {
            throw new InvalidOperationException($"Ocsp:CacheMaxBytes = {maxBytes} is too small; use at least {MinimumMaxBytes} (bytes; the default is {OcspOptions.DefaultCacheMaxBytes}).");
        }
        var replyBytes = maxBytes / 16 * 11;
        var requestBytes = maxBytes / 16 * 3;
        _replies = new ByteBoundedMap<OcspCacheKey, Entry>(replyBytes);
        _keysByRequest = new ByteBoundedMap<byte[], OcspCacheKey>(requestBytes, RequestBytesComparer.Instance);
        _statuses = new ByteBoundedMap<(string Issuer, SerialNumber Serial), RevocationStatus>(maxBytes - replyBytes - requestBytes);
        _trust = trust ?? new StatusCacheTrust(trustedAtStart: true);
        _trust.RegisterCache(Clear);
    }

    /// <summary>Rows and estimated bytes of each table (<c>replies</c>, <c>requests</c>, <c>statuses</c>), for the metrics gauges.</summary>
    public IReadOnlyList<TableUsage> Usage() =>
    [
        new("replies", _replies.Count, _replies.Bytes, _replies.MaxBytes, _replies.Evictions),
        new("requests", _keysByRequest.Count, _keysByRequest.Bytes, _keysByRequest.MaxBytes, _keysByRequest.Evictions),
        new("statuses", _statuses.Count, _statuses.Bytes, _statuses.MaxBytes, _statuses.Evictions),
    ];

    /// <summary>A status seen before and not invalidated since (none while the cache is not trusted).</summary>
    public bool TryGetStatus(string issuerFingerprint, SerialNumber serial, out RevocationStatus status)
    {
        if (!_trust.IsTrusted)
        {
            status = default!;
            return false;
        }
        return _statuses.TryGetValue((issuerFingerprint, serial), out status);
    }

    /// <summary>
    /// Keeps a good or revoked status unless the cache was invalidated since <paramref name="generation"/> was read, or
    /// is not trusted.
    /// </summary>
    public void AddStatus(string issuerFingerprint, SerialNumber serial, RevocationStatus status, long generation)
    {
        if (status.State == RevocationState.Unknown || !_trust.IsTrusted)
        {
            return;
        }
        lock (_keeping)
        {
            if (StillCurrent(generation))
            {
                _statuses.Set((issuerFingerprint, serial), status, StatusRowBytes);
            }
        }
    }

    /// <summary>A fresh reply for a request whose exact bytes were answered before.</summary>
    public bool TryGetByRequest(ReadOnlySpan<byte> requestDer, DateTimeOffset now, out Entry entry)
    {
        if (_trust.IsTrusted && _keysByRequest.TryGetValue(requestDer, out var key))
        {
            return TryGet(key, now, out entry);
        }
        entry = null!;
        return false;
    }

    /// <summary>
    /// Remembers which cache key a request's bytes map to, so the next identical request skips parsing. Call it only
    /// for a <see cref="ParsedOcspRequest.IsPlainSingleRequest"/>; it does nothing unless a reply for
    /// <paramref name="key"/> is held (the bytes of a request the cache cannot answer are never kept).
    /// </summary>
    public void RememberRequest(ReadOnlySpan<byte> requestDer, OcspCacheKey key)
    {
        if (requestDer.IsEmpty || requestDer.Length > OcspResponder.MaxPlainRequestOctets || !_trust.IsTrusted || !_replies.ContainsKey(key))
        {
            return;
        }
        _keysByRequest.Set(requestDer.ToArray(), key, requestDer.Length + RequestRowOverhead);
    }

    /// <summary>Read before building a response; pass to <see cref="Add"/> so a response built across an invalidation is not kept.</summary>
    public long Generation => Volatile.Read(ref _generation);

    /// <summary>A cached reply that is still fresh: more than a tenth of its validity before nextUpdate (none while not trusted).</summary>
    public bool TryGet(OcspCacheKey key, DateTimeOffset now, out Entry entry)
    {
        entry = null!;
        if (!_trust.IsTrusted || !_replies.TryGetValue(key, out var found))
        {
            return false;
        }
        var reply = found.Reply;
        if (reply.NextUpdate is not { } nextUpdate || reply.ThisUpdate is not { } thisUpdate
            || now >= nextUpdate - (nextUpdate - thisUpdate) / 10)
        {
            _replies.Remove(key, found);
            return false;
        }
        entry = found;
        return true;
    }

    /// <summary>
    /// Keeps a reply unless the cache was invalidated since <paramref name="generation"/> was read, or is not trusted;
    /// the entry (with its ETag) is returned either way.
    /// </summary>
    public Entry Add(OcspCacheKey key, OcspReply reply, long generation)
    {
        var entry = new Entry(reply, $"\"{Convert.ToHexString(SHA256.HashData(reply.Der).AsSpan(0, 16))}\"");
        if (!_trust.IsTrusted)
        {
            return entry;
        }
        lock (_keeping)
        {
            if (StillCurrent(generation)) // else a drop raced with the build: do not keep it
            {
                _replies.Set(key, entry, reply.Der.Length + ReplyRowOverhead);
            }
        }
        return entry;
    }

    // Under _keeping. Trust is withdrawn before the caches are cleared (which moves the generation), so a row kept
    // before the withdrawal is cleared and none is kept after it.
    private bool StillCurrent(long generation) => Volatile.Read(ref _generation) == generation && _trust.IsTrusted;

    /// <summary>
    /// A status change (<see cref="ICertificateStatusChanges"/>) drops what is cached about the certificate, or everything
    /// when any status may have changed, so the next answer is read from the database and signed afresh.
    /// </summary>
    void ICertificateStatusSubscriber.Drop(CertificateStatusChange change)
    {
        if (change.IsAll)
        {
            Clear();
        }
        else
        {
            Invalidate(change.IssuerFingerprint!, change.SerialNumber);
        }
    }

    /// <summary>Drops every cached reply and status about one certificate: called the moment its status changes.</summary>
    public void Invalidate(string issuerFingerprint, SerialNumber serial)
    {
        lock (_keeping)
        {
            foreach (var hashAlgorithm in OcspResponder.CacheKeyHashAlgorithms)
            {
                _replies.Remove(new OcspCacheKey(issuerFingerprint, serial, hashAlgorithm));
            }
            _statuses.Remove((issuerFingerprint, serial));
            Interlocked.Increment(ref _generation);
        }
    }

    /// <summary>Drops everything, e.g. when a responder certificate is renewed.</summary>
    public void Clear()
    {
        lock (_keeping)
        {
            _replies.Clear();
            _keysByRequest.Clear();
            _statuses.Clear();
            Interlocked.Increment(ref _generation);
        }
    }

    [LoggerMessage(EventId = 6004, EventName = "OcspCacheCapacityIgnored", Level = LogLevel.Warning,
        Message = "Ocsp:CacheCapacity = {Capacity} is no longer read: the OCSP cache is bounded by Ocsp:CacheMaxBytes, now {MaxBytes} bytes")]
    private static partial void LogCacheCapacityIgnored(ILogger logger, int capacity, long maxBytes);

    /// <summary>Compares request DER by content; looks up by span without allocating.</summary>
    private sealed class RequestBytesComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly RequestBytesComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] bytes) => GetHashCode(bytes.AsSpan());

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate)
        {
            var hash = new HashCode();
            hash.AddBytes(alternate);
            return hash.ToHashCode();
        }

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}
