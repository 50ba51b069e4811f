using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;

namespace PkiService.AspNetCore.Identity;

/// <summary>
/// What the checks need of a connection's client certificate, computed once per certificate instance (Kestrel keeps
/// one instance per connection, so each request of a kept-alive connection reuses it): the serial in PkiService's
/// canonical form, the validity window, and the claims (built on first use).
/// </summary>
internal sealed class ClientCertificateInfo
{
    private static readonly ConditionalWeakTable<X509Certificate2, ClientCertificateInfo> Known = new();

    private System.Security.Claims.Claim[]? _claims;
    private volatile ChainCheck? _chainCheck;

    private ClientCertificateInfo(X509Certificate2 certificate)
    {
        Certificate = certificate;
        SerialNumber = CanonicalSerial(certificate.SerialNumberBytes.Span);
        NotBefore = certificate.NotBefore.ToUniversalTime();
        NotAfter = certificate.NotAfter.ToUniversalTime();
    }

    public X509Certificate2 Certificate { get; }

    /// <summary>Upper-case hex of the serial's unsigned big-endian value without leading zero bytes (as PkiService prints it).</summary>
    public string SerialNumber { get; }

    public DateTime NotBefore { get; }

    public DateTime NotAfter { get; }

    public string Subject => Certificate.Subject;

    /// <summary>The claims of <see cref="CertificateClaims"/>, built once per certificate.</summary>
    public System.Security.Claims.Claim[] Claims => _claims ??= CertificateClaims.From(Certificate, SerialNumber);

    /// <summary>Chain, key usage and validity as checked once (the per-request check re-checks the time).</summary>
    public Refusals.RefusalReason? ChainVerdict(Trust.ClientCertificateValidator validator)
    {
        var check = _chainCheck ??= new ChainCheck(validator.EvaluateChain(this));
        return check.Refusal;
    }

    private sealed record ChainCheck(Refusals.RefusalReason? Refusal);

    public static ClientCertificateInfo Of(X509Certificate2 certificate) =>
        Known.GetValue(certificate, static c => new ClientCertificateInfo(c));

    /// <summary>
    /// RFC 5280 4.1.2.2: the serial is a positive INTEGER; its DER may carry a leading zero byte. PkiService prints the
    /// unsigned value without it, upper-case hex; the CRL, the stream and OCSP all use this form here.
    /// </summary>
    public static string CanonicalSerial(ReadOnlySpan<byte> bigEndian)
    {
        var start = 0;
        while (start < bigEndian.Length - 1 && bigEndian[start] == 0)
        {
            start++;
        }
        return Convert.ToHexString(bigEndian[start..]);
    }

    /// <summary>The canonical form of a serial given as hex (any case, leading zeros allowed); null when it is not hex.</summary>
    public static string? CanonicalSerial(string hex)
    {
        var trimmed = hex.Trim();
        if (trimmed.Length == 0 || trimmed.Length > 128 || !trimmed.All(Uri.IsHexDigit))
        {
            return null;
        }
        trimmed = trimmed.TrimStart('0');
        if (trimmed.Length == 0)
        {
            return "00";
        }
        return (trimmed.Length % 2 == 1 ? "0" + trimmed : trimmed).ToUpperInvariant();
    }
}
