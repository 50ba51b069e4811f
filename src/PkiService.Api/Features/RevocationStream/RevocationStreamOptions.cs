using PkiService.Core.Primitives;

namespace PkiService.Api.Features.RevocationStream;

/// <summary>The <c>RevocationStream</c> configuration section: the bounds of <c>GET /pki/revocations/stream</c>.</summary>
public sealed class RevocationStreamOptions
{
    public const string Section = "RevocationStream";

    /// <summary>Concurrent streams this node serves; one more is answered 503 with <c>Retry-After</c>.</summary>
    public int MaxClients { get; set; } = 1000;

    /// <summary>Longest silence on a stream: a <c>: keep-alive</c> comment is sent after this long without an event (ISO 8601).</summary>
    public string KeepAlive { get; set; } = "PT15S";

    public TimeSpan KeepAliveDuration => IsoDuration.ParseSetting(KeepAlive, "RevocationStream:KeepAlive");

    /// <summary>Why the settings cannot be used, naming the key and the fix; null when they can.</summary>
    public string? Problem()
    {
        if (MaxClients < 1)
        {
            return $"RevocationStream:MaxClients = {MaxClients} must be at least 1 (concurrent revocation streams per node).";
        }
        if (!IsoDuration.TryParse(KeepAlive, out var keepAlive))
        {
            return $"RevocationStream:KeepAlive = '{KeepAlive}' is not a positive ISO 8601 duration such as PT15S.";
        }
        return keepAlive > TimeSpan.FromMinutes(5)
            ? $"RevocationStream:KeepAlive = '{KeepAlive}' is too long: clients tell a dead stream by its silence; use at most PT5M (default PT15S)."
            : null;
    }
}
