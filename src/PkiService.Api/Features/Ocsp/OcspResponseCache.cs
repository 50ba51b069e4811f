using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using PkiService.Core.Ocsp;
using PkiService.Core.Primitives;
using PkiService.Core.Revocation;

namespace PkiService.Api.Features.Ocsp;

/// <summary>
/// Signed responses to nonce-less single-certificate requests (RFC 5019 2.1.1 allows pre-produced responses),
/// kept until shortly before nextUpdate or until the certificate's status changes.
/// </summary>
public sealed class OcspResponseCache(IOptions<OcspOptions> options)
{
    /// <summary>A cached reply and its HTTP validator.</summary>
    public sealed record Entry(OcspReply Reply, string ETag);

    private readonly ConcurrentDictionary<(string Issuer, SerialNumber Serial), ConcurrentDictionary<string, Entry>> _entries = new();

    // Fast path: the exact DER of a request seen before -> its cache key, so a repeated request (gateways send the
    // same bytes for the same certificate) is answered without parsing it. The key still goes through the main
    // cache, so invalidation there covers this path too.
    private readonly ConcurrentDictionary<byte[], OcspCacheKey> _keysByRequest = new(RequestBytesComparer.Instance);

    // Known statuses (good or revoked; never unknown, which may change when the serial is issued), so requests that
    // must be signed afresh (nonces) do not each query the database.
    private readonly ConcurrentDictionary<(string Issuer, SerialNumber Serial), RevocationStatus> _statuses = new();
    private long _generation;

    /// <summary>A status seen before and not invalidated since.</summary>
    public bool TryGetStatus(string issuerFingerprint, SerialNumber serial, out RevocationStatus status) =>
        _statuses.TryGetValue((issuerFingerprint, serial), out status);

    /// <summary>Keeps a good or revoked status unless the cache was invalidated since <paramref name="generation"/> was read.</summary>
    public void AddStatus(string issuerFingerprint, SerialNumber serial, RevocationStatus status, long generation)
    {
        if (status.State == RevocationState.Unknown)
        {
            return;
        }
        if (_statuses.Count >= options.Value.CacheCapacity)
        {
            _statuses.Clear();
        }
        _statuses[(issuerFingerprint, serial)] = status;
        if (Volatile.Read(ref _generation) != generation)
        {
            _statuses.TryRemove((issuerFingerprint, serial), out _);
        }
    }

    /// <summary>A fresh reply for a request whose exact bytes were answered before.</summary>
    public bool TryGetByRequest(ReadOnlySpan<byte> requestDer, DateTimeOffset now, out Entry entry)
    {
        if (_keysByRequest.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(requestDer, out var key))
        {
            return TryGet(key, now, out entry);
        }
        entry = null!;
        return false;
    }

    /// <summary>Remembers which cache key a request's bytes map to.</summary>
    public void RememberRequest(ReadOnlySpan<byte> requestDer, OcspCacheKey key)
    {
        if (_keysByRequest.Count >= options.Value.CacheCapacity)
        {
            _keysByRequest.Clear();
        }
        _keysByRequest.GetAlternateLookup<ReadOnlySpan<byte>>()[requestDer] = key;
    }

    /// <summary>Read before building a response; pass to <see cref="Add"/> so a response built across an invalidation is not kept.</summary>
    public long Generation => Volatile.Read(ref _generation);

    /// <summary>A cached reply that is still fresh: more than a tenth of its validity before nextUpdate.</summary>
    public bool TryGet(OcspCacheKey key, DateTimeOffset now, out Entry entry)
    {
        entry = null!;
        if (!_entries.TryGetValue((key.IssuerFingerprint, key.SerialNumber), out var byHash)
            || !byHash.TryGetValue(key.HashAlgorithm, out var found))
        {
            return false;
        }
        var reply = found.Reply;
        if (reply.NextUpdate is not { } nextUpdate || reply.ThisUpdate is not { } thisUpdate
            || now >= nextUpdate - (nextUpdate - thisUpdate) / 10)
        {
            byHash.TryRemove(key.HashAlgorithm, out _);
            return false;
        }
        entry = found;
        return true;
    }

    /// <summary>Keeps a reply unless the cache was invalidated since <paramref name="generation"/> was read.</summary>
    public Entry Add(OcspCacheKey key, OcspReply reply, long generation)
    {
        var entry = new Entry(reply, $"\"{Convert.ToHexString(SHA256.HashData(reply.Der).AsSpan(0, 16))}\"");
        if (_entries.Count >= options.Value.CacheCapacity)
        {
            _entries.Clear(); // crude bound: a full cache restarts cold rather than growing without limit
        }
        var byHash = _entries.GetOrAdd((key.IssuerFingerprint, key.SerialNumber), _ => new ConcurrentDictionary<string, Entry>(StringComparer.Ordinal));
        byHash[key.HashAlgorithm] = entry;
        if (Volatile.Read(ref _generation) != generation)
        {
            byHash.TryRemove(key.HashAlgorithm, out _); // an invalidation raced with the build: do not keep it
        }
        return entry;
    }

    /// <summary>Drops every cached reply about one certificate: called the moment its status changes.</summary>
    public void Invalidate(string issuerFingerprint, SerialNumber serial)
    {
        Interlocked.Increment(ref _generation);
        _entries.TryRemove((issuerFingerprint, serial), out _);
        _statuses.TryRemove((issuerFingerprint, serial), out _);
    }

    /// <summary>Drops everything, e.g. when a responder certificate is renewed.</summary>
    public void Clear()
    {
        Interlocked.Increment(ref _generation);
        _entries.Clear();
        _keysByRequest.Clear();
        _statuses.Clear();
    }

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
