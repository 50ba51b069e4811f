using System.Security.Cryptography;
using System.Text;

namespace PkiService.Api.Features.Est;

/// <summary>
/// The <c>/serverkeygen</c> answer (RFC 7030 4.4.2): <c>multipart/mixed</c> (RFC 2046 5.1) with two parts, CRLF line
/// ends, in this order: the private key (<c>application/pkcs8</c>, base64) and the certificate
/// (<c>application/pkcs7-mime; smime-type=certs-only</c>, base64).
/// </summary>
public static class EstServerKeyAnswer
{
    private const string Crlf = "\r\n";

    /// <summary>A new boundary: random, so it cannot occur in the base64 parts (which have no '-').</summary>
    public static string NewBoundary() => "est-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>
    /// The whole body, in one array the caller owns and must clear (<see cref="CryptographicOperations.ZeroMemory"/>)
    /// once written: it holds the private key. Nothing else keeps a copy of the key's base64.
    /// </summary>
    public static byte[] Body(string boundary, ReadOnlySpan<byte> pkcs8, ReadOnlySpan<byte> certsOnly)
    {
        var keyHeader = Encoding.ASCII.GetBytes(
            $"--{boundary}{Crlf}Content-Type: application/pkcs8{Crlf}Content-Transfer-Encoding: base64{Crlf}{Crlf}");
        var certificateHeader = Encoding.ASCII.GetBytes(
            $"--{boundary}{Crlf}Content-Type: {EstEndpoints.CertsOnlyMediaType}{Crlf}Content-Transfer-Encoding: base64{Crlf}{Crlf}");
        var end = Encoding.ASCII.GetBytes($"--{boundary}--{Crlf}");
        var body = new byte[keyHeader.Length + EstBase64.EncodedLength(pkcs8.Length, Crlf)
            + certificateHeader.Length + EstBase64.EncodedLength(certsOnly.Length, Crlf) + end.Length];
        var span = body.AsSpan();
        var written = Append(span, keyHeader);
        written += EstBase64.Write(pkcs8, span[written..], Crlf);
        written += Append(span[written..], certificateHeader);
        written += EstBase64.Write(certsOnly, span[written..], Crlf);
        Append(span[written..], end);
        return body;
    }

    private static int Append(Span<byte> destination, byte[] bytes)
    {
        bytes.CopyTo(destination);
        return bytes.Length;
    }
}
