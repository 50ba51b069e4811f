using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace PkiService.Api.Infrastructure;

/// <summary>
/// Counts failed authentications (401 answers to requests that presented a credential) in fixed windows of one
/// minute, twice:
/// <list type="bullet">
/// <item>per (client address, presented credential), limit <c>RateLimits:AuthenticationFailuresPerMinute</c>: a client
/// that keeps presenting one bad API key, token or certificate gets 429 for that credential, while a valid credential
/// from the same address (another user behind the same NAT or proxy) still works;</item>
/// <item>per client address, the wider limit <c>RateLimits:AuthenticationFailuresPerAddressPerMinute</c> (default ten
/// times the first): a client that rotates credentials to escape the first count is stopped here, and then every
/// credentialed call from that address gets 429 until the window ends.</item>
/// </list>
/// The credential is kept only inside a 128-bit truncated SHA-256 of (address, credential), never in the clear.
/// Both tables are bounded (<see cref="Capacity"/> rows each): when one is full, rows whose window has ended are
/// dropped, and if it is still full (more than <see cref="Capacity"/> addresses failing within one minute, beyond what
/// per-address throttling can stop) a new key is not counted until rows expire.
/// </summary>
public sealed class AuthenticationFailureThrottle
{
    /// <summary>Rows per table (about 48 bytes each, so a few MB at most).</summary>
    public const int Capacity = 100_000;

    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private readonly WindowTable _perCredential;
    private readonly WindowTable _perAddress;
    private readonly TimeProvider _time;

    public AuthenticationFailureThrottle(int failuresPerCredential, int failuresPerAddress, TimeProvider time, int capacity = Capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(failuresPerCredential);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(failuresPerAddress);
        _perCredential = new WindowTable(failuresPerCredential, capacity);
        _perAddress = new WindowTable(failuresPerAddress, capacity);
        _time = time;
    }

    /// <summary>
    /// The throttle keys of a request: null when it presents no credential (no <c>Authorization</c> header, no TLS client
    /// certificate). Requests without one are not counted: they are refused before any secret is looked up and are
    /// bounded by the endpoints' own rate limits, and counting them would let an anonymous flood lock out valid
    /// credentials from a shared address.
    /// </summary>
    public static ThrottleKey? KeyOf(HttpContext http, string clientAddress)
    {
        var authorization = http.Request.Headers.Authorization.ToString();
        var certificate = http.Connection.ClientCertificate;
        if (authorization.Length == 0 && certificate is null)
        {
            return null;
        }
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Append(hash, Encoding.UTF8.GetBytes(clientAddress));
        var address = Truncate(hash.GetHashAndReset());
        Append(hash, Encoding.UTF8.GetBytes(clientAddress));
        Append(hash, Encoding.UTF8.GetBytes(authorization));
        Append(hash, certificate is null ? [] : certificate.RawDataMemory.Span);
        return new ThrottleKey(address, Truncate(hash.GetHashAndReset()));
    }

    /// <summary>How long until this credential (or this address) may try again, or null when it is not blocked.</summary>
    public TimeSpan? BlockedFor(ThrottleKey key)
    {
        var now = _time.GetUtcNow().UtcTicks;
        lock (_lock)
        {
            var until = Math.Max(_perAddress.BlockedUntil(key.Address, now), _perCredential.BlockedUntil(key.Credential, now));
            return until > now ? TimeSpan.FromTicks(until - now) : null;
        }
    }

    /// <summary>Counts one failure against the credential and against the address.</summary>
    public void RecordFailure(ThrottleKey key)
    {
        var now = _time.GetUtcNow().UtcTicks;
        lock (_lock)
        {
            _perCredential.Record(key.Credential, now);
            _perAddress.Record(key.Address, now);
        }
    }

    /// <summary>Rows held in the (address, credential) and per-address tables.</summary>
    public (int PerCredential, int PerAddress) Rows
    {
        get
        {
            lock (_lock)
            {
                return (_perCredential.Count, _perAddress.Count);
            }
        }
    }

    /// <summary>Length-prefixed, so that (address, credential) pairs cannot run into each other.</summary>
    private static void Append(IncrementalHash hash, ReadOnlySpan<byte> data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        hash.AppendData(length);
        hash.AppendData(data);
    }

    private static UInt128 Truncate(byte[] sha256) => BinaryPrimitives.ReadUInt128BigEndian(sha256);

    /// <summary>Fixed windows per key: a window starts at the key's first failure and lasts <see cref="Window"/>.</summary>
    private sealed class WindowTable(int limit, int capacity)
    {
        private readonly Dictionary<UInt128, (long Start, int Count)> _rows = [];
        private long _lastPrune;

        public int Count => _rows.Count;

        /// <summary>The end of the key's window when it has used up its failures, else <see cref="long.MinValue"/>.</summary>
        public long BlockedUntil(UInt128 key, long now) =>
            _rows.TryGetValue(key, out var row) && row.Count >= limit && now - row.Start < Window.Ticks ? row.Start + Window.Ticks : long.MinValue;

        public void Record(UInt128 key, long now)
        {
            ref var row = ref CollectionsMarshal.GetValueRefOrNullRef(_rows, key);
            if (!Unsafe.IsNullRef(ref row))
            {
                row = now - row.Start >= Window.Ticks ? (now, 1) : (row.Start, row.Count + 1);
                return;
            }
            if (_rows.Count >= capacity && now - _lastPrune >= TimeSpan.TicksPerSecond)
            {
                // At most once a second: a full table of fresh rows would otherwise make every new key scan it.
                _lastPrune = now;
                foreach (var (stale, value) in _rows)
                {
                    if (now - value.Start >= Window.Ticks)
                    {
                        _rows.Remove(stale);
                    }
                }
            }
            if (_rows.Count < capacity)
            {
                _rows[key] = (now, 1);
            }
        }
    }
}

/// <summary>A request's throttle keys: its client address, and its address with the credential it presented (both hashed).</summary>
public readonly record struct ThrottleKey(UInt128 Address, UInt128 Credential);

/// <summary>Answers 429 to credentialed calls that failed authentication too often (see <see cref="AuthenticationFailureThrottle"/>); counts each 401.</summary>
public sealed class AuthenticationFailureThrottleMiddleware(RequestDelegate next, AuthenticationFailureThrottle throttle)
{
    public async Task InvokeAsync(HttpContext http)
    {
        var key = AuthenticationFailureThrottle.KeyOf(http, RequestProtection.ClientKey(http));
        if (key is { } presented && throttle.BlockedFor(presented) is { } retryAfter)
        {
            await RequestProtection.WriteTooManyRequestsAsync(http, retryAfter, "Too many failed authentications from this address or with this credential");
            return;
        }
        await next(http);
        if (key is { } failed && http.Response.StatusCode == StatusCodes.Status401Unauthorized)
        {
            throttle.RecordFailure(failed);
        }
    }
}
