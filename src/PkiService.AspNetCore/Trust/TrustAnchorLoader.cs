using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PkiService.AspNetCore.Service;

namespace PkiService.AspNetCore.Trust;

/// <summary>
/// Fetches the root (<c>/pki/root.crt</c>) and refuses it unless its SHA-256 is <c>PkiClient:RootFingerprint</c>;
/// fetches the issuing CA (<c>/pki/ca.crt</c>) and accepts it only if it chains to that root (RFC 5280 6.1).
/// </summary>
internal static class TrustAnchorLoader
{
    public const string RootPath = "pki/root.crt";
    public const string IssuingPath = "pki/ca.crt";

    /// <summary>Checks the fetched DER against the pin and the issuing CA against the root; throws <see cref="PkiClientStartupException"/>.</summary>
    public static PkiTrustAnchors Check(byte[] rootDer, byte[] issuingDer, byte[] pinnedFingerprint, Uri serviceUrl, DateTimeOffset now)
    {
        var actual = SHA256.HashData(rootDer);
        if (!CryptographicOperations.FixedTimeEquals(actual, pinnedFingerprint))
        {
            throw new PkiClientStartupException(
                $"{PkiClientOptions.SectionName}:RootFingerprint does not match the root served at {new Uri(serviceUrl, RootPath)}: " +
                $"its SHA-256 is {Convert.ToHexString(actual)}, the setting says {Convert.ToHexString(pinnedFingerprint)}. " +
                "Refusing to trust it: check the setting and that ServiceUrl points at your PkiService.");
        }
        var root = Load(rootDer, RootPath, serviceUrl);
        var issuing = Load(issuingDer, IssuingPath, serviceUrl);
        if (!IsCa(root) || !IsCa(issuing))
        {
            throw new PkiClientStartupException($"The certificates served at {serviceUrl}pki/ are not CA certificates (RFC 5280 4.2.1.9 basicConstraints); check {PkiClientOptions.SectionName}:ServiceUrl.");
        }
        using var chain = new X509Chain();
        Configure(chain.ChainPolicy, root, extra: null, now);
        if (!chain.Build(issuing) || chain.ChainElements.Count != 2 || !chain.ChainElements[1].Certificate.RawDataMemory.Span.SequenceEqual(root.RawDataMemory.Span))
        {
            var status = string.Join(", ", chain.ChainStatus.Select(s => s.Status));
            throw new PkiClientStartupException(
                $"The issuing CA served at {new Uri(serviceUrl, IssuingPath)} does not chain to the root pinned by {PkiClientOptions.SectionName}:RootFingerprint ({status}).");
        }
        return new PkiTrustAnchors(root, issuing);
    }

    /// <summary>
    /// Our root only (never the OS store), no certificate downloads, no revocation fetching by the platform (revocation
    /// is this package's), at the given time.
    /// </summary>
    public static void Configure(X509ChainPolicy policy, X509Certificate2 root, X509Certificate2? extra, DateTimeOffset now)
    {
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.Add(root);
        if (extra is not null)
        {
            policy.ExtraStore.Add(extra);
        }
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.DisableCertificateDownloads = true;
        policy.VerificationTime = now.UtcDateTime;
        policy.VerificationTimeIgnored = false;
    }

    private static X509Certificate2 Load(byte[] der, string path, Uri serviceUrl)
    {
        try
        {
            return X509CertificateLoader.LoadCertificate(der);
        }
        catch (CryptographicException error)
        {
            throw new PkiClientStartupException($"{new Uri(serviceUrl, path)} did not serve a DER certificate; check {PkiClientOptions.SectionName}:ServiceUrl.", error);
        }
    }

    private static bool IsCa(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is { CertificateAuthority: true };
}
