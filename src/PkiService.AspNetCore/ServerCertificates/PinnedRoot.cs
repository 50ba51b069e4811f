using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PkiService.AspNetCore.ServerCertificates;

/// <summary>
/// PkiService's root CA certificate, accepted only when the SHA-256 of its DER is <c>PkiClient:RootFingerprint</c>, and
/// the one trust anchor the server certificate code uses: for the certificates PkiService issues to this API and for
/// the TLS certificate of PkiService's mTLS listener. The operating system's store is never consulted.
/// </summary>
internal sealed class PinnedRoot
{
    private PinnedRoot(X509Certificate2 certificate) => Certificate = certificate;

    public X509Certificate2 Certificate { get; }

    /// <summary>
    /// Parses the DER of a root certificate and accepts it only when its SHA-256 is <paramref name="fingerprint"/>
    /// (hex, colons, spaces and case ignored) and it is self-signed.
    /// </summary>
    public static PinnedRoot FromDer(byte[] der, string fingerprint)
    {
        var expected = ParseFingerprint(fingerprint);
        // Not a secret, but comparing in constant time costs nothing and keeps to the project's rule.
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(der), expected))
        {
            throw new InvalidOperationException(
                $"The root certificate PkiService served has SHA-256 {Convert.ToHexString(SHA256.HashData(der))}, not PkiClient:RootFingerprint {Convert.ToHexString(expected)}; check the setting or the PkiClient:ServiceUrl.");
        }
        var certificate = X509CertificateLoader.LoadCertificate(der);
        if (certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData) is false)
        {
            throw new InvalidOperationException("The certificate PkiClient:RootFingerprint names is not a self-signed root.");
        }
        return new PinnedRoot(certificate);
    }

    /// <summary>The 32 bytes of <c>PkiClient:RootFingerprint</c>; throws naming the setting when it is not 64 hex digits.</summary>
    public static byte[] ParseFingerprint(string? fingerprint)
    {
        var hex = (fingerprint ?? string.Empty).Replace(":", string.Empty, StringComparison.Ordinal).Replace(" ", string.Empty, StringComparison.Ordinal);
        if (hex.Length != 64 || !hex.All(Uri.IsHexDigit))
        {
            throw new InvalidOperationException(
                "PkiClient:RootFingerprint must be the SHA-256 of PkiService's root certificate DER, 64 hex digits (openssl x509 -in root.pem -noout -fingerprint -sha256).");
        }
        return Convert.FromHexString(hex);
    }

    /// <summary>
    /// Whether <paramref name="certificate"/> chains to this root through <paramref name="intermediates"/>, valid at
    /// <paramref name="at"/> (RFC 5280 6.1: path validation from the one trust anchor; revocation is not checked here).
    /// </summary>
    public bool Validates(X509Certificate2 certificate, IEnumerable<X509Certificate2> intermediates, DateTimeOffset at, out string problem)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Certificate);
        chain.ChainPolicy.ExtraStore.AddRange(intermediates.ToArray());
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = at.UtcDateTime;
        if (chain.Build(certificate))
        {
            problem = string.Empty;
            return true;
        }
        problem = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Distinct());
        return false;
    }
}
