using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using X509Extension = System.Security.Cryptography.X509Certificates.X509Extension;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using PkiService.Cli.Infrastructure;

namespace PkiService.Cli.Crypto;

/// <summary>
/// A private key made on this machine, never sent anywhere: ECDSA and RSA with System.Security.Cryptography
/// (<see cref="CertificateRequest"/> makes the CSR), Ed25519 with Bouncy Castle because .NET has no Ed25519.
/// </summary>
public sealed class KeyPair : IDisposable
{
    private readonly AsymmetricAlgorithm? _dotnet;
    private readonly Ed25519PrivateKeyParameters? _ed25519;

    private KeyPair(AsymmetricAlgorithm? dotnet, Ed25519PrivateKeyParameters? ed25519)
    {
        _dotnet = dotnet;
        _ed25519 = ed25519;
    }

    public static KeyPair Generate(KeyType type) => type switch
    {
        KeyType.P256 => new(ECDsa.Create(ECCurve.NamedCurves.nistP256), null),
        KeyType.P384 => new(ECDsa.Create(ECCurve.NamedCurves.nistP384), null),
        KeyType.Rsa2048 => new(RSA.Create(2048), null),
        KeyType.Ed25519 => new(null, GenerateEd25519()),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>The key type of a certificate's public key, so a renewal gets a new key of the same kind.</summary>
    public static KeyType TypeOf(X509Certificate2 certificate)
    {
        switch (certificate.PublicKey.Oid.Value)
        {
            case "1.2.840.10045.2.1":
                using (var ec = certificate.GetECDsaPublicKey()!)
                {
                    return ec.KeySize == 384 ? KeyType.P384 : KeyType.P256;
                }
            case "1.2.840.113549.1.1.1":
                return KeyType.Rsa2048;
            case "1.3.101.112":
                return KeyType.Ed25519;
            default:
                throw CliException.Usage($"The certificate's key algorithm {certificate.PublicKey.Oid.Value} is not one pki can renew.");
        }
    }

    /// <summary>The PKCS#8 private key, PEM ("PRIVATE KEY").</summary>
    public string PrivateKeyPem() => _dotnet is not null
        ? _dotnet.ExportPkcs8PrivateKeyPem() + "\n"
        : PemEncoding.WriteString("PRIVATE KEY", Ed25519PrivateKeyInfo(_ed25519!)) + "\n";

    /// <summary>The DER SubjectPublicKeyInfo, to compare with the one in the issued certificate.</summary>
    public byte[] SubjectPublicKeyInfo() => _dotnet is not null
        ? _dotnet.ExportSubjectPublicKeyInfo()
        : SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(_ed25519!.GeneratePublicKey()).GetDerEncoded();

    /// <summary>
    /// A PKCS#10 request (RFC 2986) for CN=<paramref name="commonName"/> with a subjectAltName extension request:
    /// either built from <paramref name="sans"/> or, for a renewal, the current certificate's extension copied as is.
    /// </summary>
    public string CreateCsrPem(string commonName, IReadOnlyList<string> sans, X509Extension? copiedSan = null)
    {
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(commonName);
        var name = subject.Build();
        var san = copiedSan ?? (sans.Count > 0 ? BuildSan(sans) : null);
        if (_dotnet is not null)
        {
            var request = _dotnet switch
            {
                ECDsa ec => new CertificateRequest(name, ec, ec.KeySize == 384 ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256),
                RSA rsa => new CertificateRequest(name, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
                _ => throw new InvalidOperationException("unsupported key"),
            };
            if (san is not null)
            {
                request.CertificateExtensions.Add(san);
            }
            return request.CreateSigningRequestPem() + "\n";
        }

        // Ed25519: RFC 8410 key, signature algorithm id-Ed25519; the SAN goes into a PKCS#9 extensionRequest attribute.
        Asn1Set? attributes = null;
        if (san is not null)
        {
            var extensions = new X509Extensions(new Dictionary<DerObjectIdentifier, Org.BouncyCastle.Asn1.X509.X509Extension>
            {
                [X509Extensions.SubjectAlternativeName] = new(false, new DerOctetString(san.RawData)),
            });
            attributes = new DerSet(new AttributePkcs(PkcsObjectIdentifiers.Pkcs9AtExtensionRequest, new DerSet(extensions)));
        }
        var csr = new Pkcs10CertificationRequest("Ed25519", new X509Name(name.Name), _ed25519!.GeneratePublicKey(), attributes, _ed25519);
        return PemEncoding.WriteString("CERTIFICATE REQUEST", csr.GetDerEncoded()) + "\n";
    }

    public void Dispose() => _dotnet?.Dispose();

    /// <summary>
    /// The SAN extension, each value typed as the service types it: an IP when it parses as one, a URI when it has a
    /// scheme, an e-mail when it has '@', else a DNS name.
    /// </summary>
    private static X509Extension BuildSan(IReadOnlyList<string> sans)
    {
        var builder = new SubjectAlternativeNameBuilder();
        foreach (var san in sans)
        {
            if (System.Net.IPAddress.TryParse(san, out var ip))
            {
                builder.AddIpAddress(ip);
            }
            else if (san.Contains("://", StringComparison.Ordinal) || san.StartsWith("urn:", StringComparison.OrdinalIgnoreCase))
            {
                builder.AddUri(new Uri(san));
            }
            else if (san.Contains('@'))
            {
                builder.AddEmailAddress(san);
            }
            else
            {
                builder.AddDnsName(san);
            }
        }
        return builder.Build();
    }

    /// <summary>
    /// RFC 8410 7: a version-1 PKCS#8 PrivateKeyInfo whose privateKey is the CurvePrivateKey OCTET STRING, without the
    /// optional public key (Bouncy Castle's factory adds it as a version-2 OneAsymmetricKey, which OpenSSL 3 refuses).
    /// </summary>
    private static byte[] Ed25519PrivateKeyInfo(Ed25519PrivateKeyParameters key) =>
        new PrivateKeyInfo(new AlgorithmIdentifier(Org.BouncyCastle.Asn1.EdEC.EdECObjectIdentifiers.id_Ed25519), new DerOctetString(key.GetEncoded()))
            .GetDerEncoded();

    private static Ed25519PrivateKeyParameters GenerateEd25519()
    {
        var generator = new Ed25519KeyPairGenerator();
        generator.Init(new Ed25519KeyGenerationParameters(new SecureRandom()));
        return (Ed25519PrivateKeyParameters)generator.GenerateKeyPair().Private;
    }
}
