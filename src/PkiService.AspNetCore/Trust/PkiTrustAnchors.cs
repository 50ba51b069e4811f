using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PkiService.AspNetCore.Trust;

/// <summary>The pinned root and the issuing CA that chains to it: the only certificates client chains may end in.</summary>
internal sealed class PkiTrustAnchors
{
    public PkiTrustAnchors(X509Certificate2 root, X509Certificate2 issuing)
    {
        Root = root;
        Issuing = issuing;
        IssuingBouncyCastle = new Org.BouncyCastle.X509.X509CertificateParser().ReadCertificate(issuing.RawData);
        IssuingFingerprint = Convert.ToHexString(SHA256.HashData(issuing.RawData));
    }

    public X509Certificate2 Root { get; }

    public X509Certificate2 Issuing { get; }

    /// <summary>The issuing CA for BouncyCastle (CRL and OCSP signature checks).</summary>
    public Org.BouncyCastle.X509.X509Certificate IssuingBouncyCastle { get; }

    /// <summary>SHA-256 of the issuing CA's DER, upper-case hex: the <c>issuer</c> of the revocation stream's events.</summary>
    public string IssuingFingerprint { get; }
}

/// <summary>Holds the anchors once start-up has fetched and checked them; null before (every client is then refused).</summary>
internal sealed class TrustAnchorStore
{
    private volatile PkiTrustAnchors? _current;

    public PkiTrustAnchors? Current
    {
        get => _current;
        set => _current = value;
    }
}
