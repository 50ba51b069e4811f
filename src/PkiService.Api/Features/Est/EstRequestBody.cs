using System.Security.Cryptography;
using System.Text;
using PkiService.Core.Errors;

namespace PkiService.Api.Features.Est;

/// <summary>
/// Reads the CSR out of an EST request body (<c>simpleenroll</c>, <c>simplereenroll</c>, <c>serverkeygen</c>).
/// RFC 7030 4.2.1 sends the DER PKCS#10 base64-encoded; RFC 8951 3.2 tells servers to ignore
/// <c>Content-Transfer-Encoding</c> and accept base64 with or without line breaks. Clients in the field also send CRLF,
/// trailing whitespace and a PEM-armoured CSR (<c>-----BEGIN CERTIFICATE REQUEST-----</c>, or the older
/// <c>NEW CERTIFICATE REQUEST</c> label), which are accepted too. Anything else is refused with a reason that says
/// what to send.
/// </summary>
public static class EstRequestBody
{
    private const string Expected = "send the base64 of the DER PKCS#10 request (openssl req -outform DER | base64) or the PEM CSR";

    /// <summary>Returns the DER CSR of <paramref name="body"/>; throws <see cref="CsrRejectedException"/> (400) saying what is wrong.</summary>
    public static byte[] DecodeCsr(ReadOnlySpan<byte> body)
    {
        string text;
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(body);
        }
        catch (DecoderFallbackException)
        {
            throw new CsrRejectedException($"The body is binary, not base64 text; {Expected}.");
        }
        text = text.Trim();
        if (text.Length == 0)
        {
            throw new CsrRejectedException($"The body is empty; {Expected}.");
        }
        return text.StartsWith("-----BEGIN", StringComparison.Ordinal) ? FromPem(text) : FromBase64(text);
    }

    private static byte[] FromPem(string text)
    {
        if (!PemEncoding.TryFind(text, out var fields))
        {
            throw new CsrRejectedException($"The body starts like PEM but is not a complete PEM block; {Expected}.");
        }
        var label = text[fields.Label];
        if (label is not ("CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST"))
        {
            throw new CsrRejectedException($"The PEM block is a '{label}', not a 'CERTIFICATE REQUEST'; {Expected}.");
        }
        // PemEncoding has already checked the base64 (RFC 7468 allows whitespace, LF or CRLF, inside it).
        return Convert.FromBase64String(text[fields.Base64Data]);
    }

    private static byte[] FromBase64(string text)
    {
        var compact = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (!char.IsWhiteSpace(c))
            {
                compact.Append(c);
            }
        }
        try
        {
            return Convert.FromBase64String(compact.ToString());
        }
        catch (FormatException)
        {
            throw new CsrRejectedException($"The body is not valid base64; {Expected}.");
        }
    }
}
