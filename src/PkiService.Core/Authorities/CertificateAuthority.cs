using System.Formats.Asn1;
using System.Security.Cryptography;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Security.Certificates;
using Org.BouncyCastle.X509;
using Org.BouncyCastle.X509.Extension;

namespace PkiService.Core.Authorities;

/// <summary>
/// A CA of this service's hierarchy: its certificate and, for a CA this service signs with, the private key. An
/// external (offline) root or an intermediate above an installed issuing CA is held as a certificate only.
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    private readonly AsymmetricAlgorithm? _privateKey;
    private readonly DotNetSignatureFactory? _signatureFactory;

    public CertificateAuthority(X509Certificate certificate, AsymmetricAlgorithm privateKey)
        : this(certificate)
    {
        ArgumentNullException.ThrowIfNull(privateKey);
        _privateKey = privateKey;
        _signatureFactory = new DotNetSignatureFactory(privateKey);
    }

    private CertificateAuthority(X509Certificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        Certificate = certificate;
        SubjectKeyIdentifier = X509ExtensionUtilities.CreateSubjectKeyIdentifier(certificate.GetPublicKey()).GetKeyIdentifier();
        Der = certificate.GetEncoded();
        SubjectDer = ReadSubjectDer(Der);
        Fingerprint = Convert.ToHexString(SHA256.HashData(Der));
    }

    /// <summary>A CA whose key this service does not hold (an offline root, an intermediate): it verifies, it never signs here.</summary>
    public static CertificateAuthority CertificateOnly(X509Certificate certificate) => new(certificate);

    /// <summary>True when this service holds the CA's key (false for an external root or intermediate).</summary>
    public bool HasPrivateKey => _privateKey is not null;

    /// <summary>The CA certificate.</summary>
    public X509Certificate Certificate { get; }

    /// <summary>The CA's private key (kept in memory only while the service runs).</summary>
    /// <exception cref="InvalidOperationException">The CA is held as a certificate only (<see cref="HasPrivateKey"/> is false).</exception>
    public AsymmetricAlgorithm PrivateKey => _privateKey ?? throw NoKey();

    /// <summary>Signs TBS structures with <see cref="PrivateKey"/>.</summary>
    /// <exception cref="InvalidOperationException">The CA is held as a certificate only.</exception>
    public ISignatureFactory SignatureFactory => _signatureFactory ?? throw NoKey();

    /// <summary>The key identifier written as AKI into everything this CA signs (RFC 5280 4.2.1.1).</summary>
    public byte[] SubjectKeyIdentifier { get; }

    /// <summary>DER of <see cref="Certificate"/>.</summary>
    public byte[] Der { get; }

    /// <summary>
    /// DER of the subject Name exactly as it appears in <see cref="Der"/>, for the issuer field of what this CA signs
    /// (RFC 5280 4.1.2.4 and 5.1.2.3: the issuer must match the CA's subject; copying the octets keeps them identical).
    /// </summary>
    public byte[] SubjectDer { get; }

    /// <summary>Uppercase hex SHA-256 of <see cref="Der"/>.</summary>
    public string Fingerprint { get; }

    /// <summary>The CA's subject name.</summary>
    public X509Name Subject => Certificate.SubjectDN;

    /// <summary>PEM of the CA certificate.</summary>
    public string Pem => PemEncoding.WriteString("CERTIFICATE", Der) + "\n";

    /// <summary>
    /// True when this CA signed <paramref name="certificate"/>: the issuer name matches and the signature verifies with
    /// this CA's key (so a certificate from an earlier, replaced CA with the same name is not taken for ours).
    /// </summary>
    public bool HasSigned(X509Certificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (!certificate.IssuerDN.Equivalent(Subject))
        {
            return false;
        }
        try
        {
            return certificate.IsSignatureValid(Certificate.GetPublicKey());
        }
        catch (Exception exception) when (exception is InvalidKeyException or SignatureException or CertificateException)
        {
            return false;
        }
    }

    public void Dispose() => _privateKey?.Dispose();

    private InvalidOperationException NoKey() =>
        new($"This service does not hold the key of {Subject}: it is an external CA, held as a certificate only.");

    private static byte[] ReadSubjectDer(byte[] certificate)
    {
        // RFC 5280 4.1: TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer, validity, subject, ... }
        var tbs = new AsnReader(certificate, AsnEncodingRules.DER).ReadSequence().ReadSequence();
        if (tbs.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0)))
        {
            tbs.ReadEncodedValue();
        }
        for (var skip = 0; skip < 4; skip++)
        {
            tbs.ReadEncodedValue();
        }
        return tbs.ReadEncodedValue().ToArray();
    }
}
