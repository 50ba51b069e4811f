using System.Globalization;
using System.Net.ServerSentEvents;
using System.Text.Json;
using System.Text.Json.Serialization;
using PkiService.AspNetCore.Identity;

namespace PkiService.AspNetCore.Revocation;

/// <summary>
/// One event of PkiService's revocation stream (<c>GET /pki/revocations/stream</c>, Server-Sent Events):
/// <c>event: revoked</c> with <c>{"issuer","serialNumber","reason","revokedAt"}</c>, or <c>event: ready</c> with
/// <c>{"crlNumber"}</c> once the replay is sent. The <c>id</c> of each is a complete CRL number.
/// </summary>
internal abstract record RevocationStreamEvent(long? Id)
{
    public sealed record Ready(long? Id, long CrlNumber) : RevocationStreamEvent(Id);

    public sealed record Revoked(long? Id, string Issuer, string SerialNumber, string? Reason, DateTimeOffset RevokedAt) : RevocationStreamEvent(Id);

    /// <summary>Reads the events of <paramref name="stream"/> as they arrive; events of other types and malformed data are skipped.</summary>
    public static async IAsyncEnumerable<RevocationStreamEvent> ReadAsync(
        Stream stream, Action<string>? malformed, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var parser = SseParser.Create(stream, static (type, data) => Encoding.GetString(data));
        await foreach (var item in parser.EnumerateAsync(cancellationToken))
        {
            long? id = long.TryParse(parser.LastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
            var parsed = Parse(item.EventType, item.Data, id);
            if (parsed is not null)
            {
                yield return parsed;
            }
            else if (item.EventType is "ready" or "revoked")
            {
                malformed?.Invoke(item.EventType);
            }
        }
    }

    /// <summary>One event from its type and data; null when it is not one this package knows or does not parse.</summary>
    public static RevocationStreamEvent? Parse(string eventType, string data, long? id)
    {
        try
        {
            switch (eventType)
            {
                case "ready":
                    var ready = JsonSerializer.Deserialize(data, StreamJson.Default.ReadyData);
                    return ready is { CrlNumber: >= 0 } ? new Ready(id, ready.CrlNumber) : null;
                case "revoked":
                    var revoked = JsonSerializer.Deserialize(data, StreamJson.Default.RevokedData);
                    if (revoked?.Issuer is not { } issuer || revoked.SerialNumber is not { } serialText
                        || ClientCertificateInfo.CanonicalSerial(serialText) is not { } serial || revoked.RevokedAt is not { } revokedAt)
                    {
                        return null;
                    }
                    return new Revoked(id, issuer.ToUpperInvariant(), serial, revoked.Reason, revokedAt);
                default:
                    return null;
            }
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static readonly System.Text.UTF8Encoding Encoding = new(encoderShouldEmitUTF8Identifier: false);

    internal sealed record ReadyData(long CrlNumber);

    internal sealed record RevokedData(string? Issuer, string? SerialNumber, string? Reason, DateTimeOffset? RevokedAt);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(RevocationStreamEvent.ReadyData))]
[JsonSerializable(typeof(RevocationStreamEvent.RevokedData))]
internal sealed partial class StreamJson : JsonSerializerContext;
