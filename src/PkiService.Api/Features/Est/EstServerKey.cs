using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;
using PkiService.Core.Issuance;
using CertificationRequest = PkiService.Core.Issuance.CertificationRequest;

namespace PkiService.Api.Features.Est;

/// <summary>
/// The key the server makes for <c>/serverkeygen</c> (RFC 7030 4.4): a new key of the kind the client's CSR names
/// (RSA of the same size, ECDSA on the same curve, or Ed25519), and a CSR for it with the client's subject and
/// requested extensions, which issuance then checks like any other.
/// <para>
/// The key lives only in this object, for one request: it is never stored, logged or cached. RSA and ECDSA keys are
/// .NET keys (native memory, freed and cleared on <see cref="Dispose"/>); an Ed25519 key, which .NET cannot make, is a
/// BouncyCastle key whose managed buffer is left to the garbage collector. The PKCS#8 bytes from
/// <see cref="ExportPkcs8"/> belong to the caller, who clears them once written.
/// </para>
/// </summary>
public sealed class EstServerKey : IDisposable
{
    private AsymmetricAlgorithm? _dotNetKey;
    private Ed25519PrivateKeyParameters? _ed25519;
    private CertificationRequest? _request;

    /// <summary>
    /// Verifies the client's CSR (signature, key kind, names: <see cref="CertificationRequest.FromDer(byte[])"/>), makes a new
    /// key of the same kind, and returns the CSR for the new key with the same subject and requested extensions. One key
    /// per object: a second call returns the same request.
    /// </summary>
    public CertificationRequest Generate(byte[] clientCsrDer) => _request ??= MakeKeyAndRequest(clientCsrDer);

    private CertificationRequest MakeKeyAndRequest(byte[] clientCsrDer)
    {
        var original = CertificationRequest.FromDer(clientCsrDer);
        var info = new Pkcs10CertificationRequest(clientCsrDer).GetCertificationRequestInfo();
        var extensions = RequestedExtensions(info);
        var keyInfo = original.PublicKeyInfo;
        switch (keyInfo.Algorithm.Algorithm.Id)
        {
            case "1.2.840.113549.1.1.1" or "1.2.840.113549.1.1.10": // rsaEncryption, id-RSASSA-PSS: a new rsaEncryption key of the same size
                var bits = RsaPublicKeyStructure.GetInstance(keyInfo.ParsePublicKey()).Modulus.BitLength;
                var rsa = RSA.Create(bits);
                _dotNetKey = rsa;
                return DotNetCsr(new CertificateRequest(Subject(info), rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1), extensions);
            case "1.2.840.10045.2.1": // id-ecPublicKey on P-256 or P-384 (FromDer refused every other curve)
                var p384 = SecObjectIdentifiers.SecP384r1.Equals(keyInfo.Algorithm.Parameters);
                var ec = ECDsa.Create(p384 ? ECCurve.NamedCurves.nistP384 : ECCurve.NamedCurves.nistP256);
                _dotNetKey = ec;
                return DotNetCsr(new CertificateRequest(Subject(info), ec, p384 ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256), extensions);
            case "1.3.101.112": // id-Ed25519 (RFC 8410)
                var generator = new Ed25519KeyPairGenerator();
                generator.Init(new Ed25519KeyGenerationParameters(new SecureRandom()));
                var pair = generator.GenerateKeyPair();
                _ed25519 = (Ed25519PrivateKeyParameters)pair.Private;
                var attributes = extensions is null
                    ? new DerSet()
                    : new DerSet(new AttributePkcs(PkcsObjectIdentifiers.Pkcs9AtExtensionRequest, new DerSet(extensions)));
                var request = new Pkcs10CertificationRequest(new Asn1SignatureFactory("Ed25519", _ed25519), info.Subject, pair.Public, attributes);
                return CertificationRequest.FromDer(request.GetEncoded());
            default:
                throw new InvalidOperationException($"CertificationRequest accepted a key it does not list: {keyInfo.Algorithm.Algorithm.Id}.");
        }
    }

    /// <summary>The new key as an unencrypted PKCS#8 PrivateKeyInfo (RFC 5208, RFC 8410 for Ed25519), DER; the caller clears it.</summary>
    public byte[] ExportPkcs8() => _dotNetKey is { } key
        ? key.ExportPkcs8PrivateKey()
        : _ed25519 is { } ed25519
            ? PrivateKeyInfoFactory.CreatePrivateKeyInfo(ed25519).GetEncoded(Asn1Encodable.Der)
            : throw new InvalidOperationException("No key was made.");

    public void Dispose()
    {
        _dotNetKey?.Dispose();
        _dotNetKey = null;
        _ed25519 = null;
        _request = null;
    }

    private static X500DistinguishedName Subject(CertificationRequestInfo info) => new(info.Subject.GetEncoded(Asn1Encodable.Der));

    /// <summary>The client's extensionRequest attribute (RFC 2985 5.4.2), if any; FromDer has refused malformed ones.</summary>
    private static X509Extensions? RequestedExtensions(CertificationRequestInfo info)
    {
        foreach (var element in info.Attributes ?? new DerSet())
        {
            var attribute = AttributePkcs.GetInstance(element);
            if (PkcsObjectIdentifiers.Pkcs9AtExtensionRequest.Equals(attribute.AttrType) && attribute.AttrValues.Count == 1)
            {
                return X509Extensions.GetInstance(attribute.AttrValues[0]);
            }
        }
        return null;
    }

    private static CertificationRequest DotNetCsr(CertificateRequest request, X509Extensions? extensions)
    {
        foreach (var oid in extensions?.ExtensionOids ?? [])
        {
            var extension = extensions!.GetExtension(oid);
            request.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509Extension(oid.Id, extension.Value.GetOctets(), extension.IsCritical));
        }
        return CertificationRequest.FromDer(request.CreateSigningRequest());
    }
}
