using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;

namespace PkiService.Api.Tests.Support;

/// <summary>Real CSRs made the way clients make them.</summary>
public static class Csrs
{
    public static string Ecdsa(string commonName, ECCurve curve, params string[] uriSans)
    {
        using var key = ECDsa.Create(curve);
        var request = new CertificateRequest($"CN={commonName}", key, curve.Oid.FriendlyName == "nistP384" ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256);
        AddSans(request, uriSans);
        return request.CreateSigningRequestPem();
    }

    public static string P256(string commonName, params string[] uriSans) => Ecdsa(commonName, ECCurve.NamedCurves.nistP256, uriSans);

    public static string Rsa(string commonName, int bits)
    {
        using var key = System.Security.Cryptography.RSA.Create(bits);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return request.CreateSigningRequestPem();
    }

    /// <summary>Ed25519 (RFC 8410), which .NET cannot create: made with BouncyCastle.</summary>
    public static string Ed25519(string commonName)
    {
        var generator = new Ed25519KeyPairGenerator();
        generator.Init(new Ed25519KeyGenerationParameters(new SecureRandom()));
        var pair = generator.GenerateKeyPair();
        var request = new Pkcs10CertificationRequest(new Asn1SignatureFactory("Ed25519", pair.Private), new X509Name($"CN={commonName}"), pair.Public, null);
        return PemEncoding.WriteString("CERTIFICATE REQUEST", request.GetEncoded());
    }

    /// <summary>
    /// A CSR signed with a BouncyCastle algorithm name such as <c>SHA1WITHECDSA</c> or <c>MD5WITHRSA</c> (RSA 2048 or
    /// P-256 key, chosen by the name), for the algorithms .NET will not sign with.
    /// </summary>
    public static string SignedWith(string commonName, string algorithm)
    {
        Org.BouncyCastle.Crypto.AsymmetricCipherKeyPair pair;
        if (algorithm.EndsWith("ECDSA", StringComparison.Ordinal))
        {
            var generator = new ECKeyPairGenerator();
            generator.Init(new ECKeyGenerationParameters(Org.BouncyCastle.Asn1.Sec.SecObjectIdentifiers.SecP256r1, new SecureRandom()));
            pair = generator.GenerateKeyPair();
        }
        else
        {
            var generator = new RsaKeyPairGenerator();
            generator.Init(new Org.BouncyCastle.Crypto.KeyGenerationParameters(new SecureRandom(), 2048));
            pair = generator.GenerateKeyPair();
        }
        var request = new Pkcs10CertificationRequest(new Asn1SignatureFactory(algorithm, pair.Private), new X509Name($"CN={commonName}"), pair.Public, null);
        return PemEncoding.WriteString("CERTIFICATE REQUEST", request.GetEncoded());
    }

    /// <summary>A valid CSR with one bit of its signature flipped.</summary>
    public static string Tampered(string commonName)
    {
        var pem = P256(commonName);
        var der = PemEncoding.Find(pem) is var fields ? Convert.FromBase64String(pem[fields.Base64Data]) : [];
        der[^5] ^= 0x01; // inside the ECDSA signature's s value
        return PemEncoding.WriteString("CERTIFICATE REQUEST", der);
    }

    private static void AddSans(CertificateRequest request, string[] uriSans)
    {
        if (uriSans.Length == 0)
        {
            return;
        }
        var builder = new SubjectAlternativeNameBuilder();
        foreach (var san in uriSans)
        {
            builder.AddUri(new Uri(san));
        }
        request.CertificateExtensions.Add(builder.Build());
    }
}
