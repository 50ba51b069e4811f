using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace PkiService.Core.Audit;

/// <summary>The content of one audit event, as it is hashed.</summary>
public sealed record AuditEntryContent(
    long Id,
    DateTimeOffset Time,
    string Actor,
    string Action,
    string? Target,
    string Outcome,
    string? ClientIp,
    string? Details);

/// <summary>
/// The audit hash chain: each row's hash is SHA-256 over the previous row's hash and the row's own content,
/// encoded with a length before every field so no two different rows encode alike.
/// </summary>
public static class AuditChain
{
    /// <summary>The "previous hash" of the first row.</summary>
    public static readonly byte[] Genesis = new byte[32];

    /// <summary>SHA-256(previousHash || canonical content).</summary>
    public static byte[] Hash(ReadOnlySpan<byte> previousHash, AuditEntryContent content)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(previousHash);
        Append(hash, content.Id.ToString(CultureInfo.InvariantCulture));
        Append(hash, content.Time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture));
        Append(hash, content.Actor);
        Append(hash, content.Action);
        Append(hash, content.Target);
        Append(hash, content.Outcome);
        Append(hash, content.ClientIp);
        Append(hash, content.Details);
        return hash.GetHashAndReset();
    }

    private static void Append(IncrementalHash hash, string? field)
    {
        Span<byte> length = stackalloc byte[4];
        if (field is null)
        {
            BinaryPrimitives.WriteInt32BigEndian(length, -1);
            hash.AppendData(length);
            return;
        }
        var bytes = Encoding.UTF8.GetBytes(field);
        BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
        hash.AppendData(length);
        hash.AppendData(bytes);
    }
}
