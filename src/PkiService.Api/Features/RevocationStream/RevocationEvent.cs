using System.Globalization;
using System.Text;
using System.Text.Json;
using PkiService.Core.Revocation;

namespace PkiService.Api.Features.RevocationStream;

/// <summary>
/// One revocation as the stream sends it: the <c>data</c> line of a Server-Sent Event <c>revoked</c>, encoded once and
/// shared by every stream. The <c>id</c> line is added when it is sent (the CRL number current then).
/// </summary>
/// <param name="SerialNumber">Canonical uppercase hex serial.</param>
/// <param name="RevokedAt">RFC 5280 5.1.2.6 revocationDate.</param>
/// <param name="Data">The JSON object of the <c>data</c> field, one line.</param>
public sealed record RevocationEvent(string SerialNumber, DateTimeOffset RevokedAt, string Data)
{
    /// <summary>
    /// The event of <paramref name="revoked"/>, a certificate of the CA whose DER has the SHA-256 fingerprint
    /// <paramref name="issuerFingerprint"/>: issuer, serial, the RFC 5280 5.3.1 reason name and the revocation time in
    /// ISO 8601 UTC to the second (as the CRL entry's revocationDate).
    /// </summary>
    public static RevocationEvent From(string issuerFingerprint, RevokedCertificate revoked)
    {
        ArgumentNullException.ThrowIfNull(revoked);
        var revokedAt = revoked.RevocationDate.ToUniversalTime();
        using var buffer = new MemoryStream(160);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("issuer", issuerFingerprint);
            json.WriteString("serialNumber", revoked.SerialNumber.Hex);
            json.WriteString("reason", revoked.Reason.ToName());
            json.WriteString("revokedAt", revokedAt.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            json.WriteEndObject();
        }
        return new RevocationEvent(revoked.SerialNumber.Hex, revokedAt, Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    /// <summary>The whole event as sent: <c>id</c>, <c>event: revoked</c>, <c>data</c>, blank line (WHATWG HTML 9.2.6).</summary>
    public string Format(string crlNumber) => $"id: {crlNumber}\nevent: revoked\ndata: {Data}\n\n";
}
