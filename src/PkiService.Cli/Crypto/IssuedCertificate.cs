using System.Security.Cryptography.X509Certificates;
using PkiService.Cli.Infrastructure;

namespace PkiService.Cli.Crypto;

/// <summary>
/// The answer of <c>POST /api/v1/enroll</c> and <c>/renew</c> (<c>EnrollmentResponse</c>). <see cref="RenewAfter"/> is
/// null from a service that does not send it yet (WIRE15.md); callers then use two thirds of the lifetime.
/// </summary>
public sealed record IssuedCertificate(
    string SerialNumber, string Certificate, string Chain, DateTimeOffset NotBefore, DateTimeOffset NotAfter, DateTimeOffset? RenewAfter = null)
{
    /// <summary>
    /// Throws (exit 3) unless the certificate carries exactly <paramref name="key"/>'s public key and chains to
    /// <paramref name="root"/> (the answer's chain used only as untrusted intermediates).
    /// </summary>
    public void Verify(KeyPair key, X509Certificate2 root)
    {
        using var certificate = Parse();
        if (!certificate.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.SubjectPublicKeyInfo()))
        {
            throw CliException.Trust($"Certificate {SerialNumber} does not certify the key made for it; nothing was written.");
        }
        var intermediates = new X509Certificate2Collection();
        intermediates.ImportFromPem(Chain);
        CertificateFiles.VerifyChain(certificate, root, intermediates);
    }

    public X509Certificate2 Parse()
    {
        try
        {
            return X509Certificate2.CreateFromPem(Certificate);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw CliException.Trust($"The service answered a certificate that does not parse ({e.Message}).");
        }
    }
}

/// <summary>Reading and checking the certificate and key files.</summary>
public static class CertificateFiles
{
    /// <summary>Throws (exit 3) unless <paramref name="certificate"/> chains to <paramref name="root"/> now.</summary>
    public static void VerifyChain(X509Certificate2 certificate, X509Certificate2 root, X509Certificate2Collection intermediates)
    {
        using var chain = new X509Chain { ChainPolicy = PkiHttp.TrustOnly(root, intermediates.Cast<X509Certificate2>()) };
        if (!chain.Build(certificate) || !chain.ChainElements[^1].Certificate.RawData.AsSpan().SequenceEqual(root.RawData))
        {
            var why = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0));
            throw CliException.Trust($"Certificate {certificate.SerialNumber} does not chain to the saved root: {(why.Length > 0 ? why : "unknown issuer")}.");
        }
    }

    public static X509Certificate2 ReadCertificate(string path)
    {
        try
        {
            return X509Certificate2.CreateFromPem(File.ReadAllText(path)); // the first certificate of the file
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw CliException.Usage($"Cannot read the certificate {path}: {PkiHttp.OneLine(e.Message)}");
        }
    }
}
