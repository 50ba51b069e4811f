using System.Security.Cryptography;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Nist;
using Org.BouncyCastle.Asn1.Oiw;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Pkcs;
using PkiService.Core.Errors;

namespace PkiService.Core.Issuance;

/// <summary>
/// Checks a CSR's self-signature (RFC 2986 4.2, proof of possession) under an allow-list of algorithms, so no
/// algorithm reaches a verifier we did not choose:
/// <list type="bullet">
/// <item>ECDSA and RSA PKCS#1 v1.5 with SHA-256/384/512: System.Security.Cryptography (OpenSSL underneath), several
/// times faster than BouncyCastle's managed verifier;</item>
/// <item>RSASSA-PSS (RFC 4055) with SHA-256/384/512, MGF1 over the same hash and any salt length openssl writes:
/// BouncyCastle's <see cref="PssSigner"/>, because .NET verifies PSS only with a salt as long as the hash while openssl
/// signs with the longest salt by default;</item>
/// <item>Ed25519 (RFC 8410): BouncyCastle.</item>
/// </list>
/// Everything else is refused before any verification, by name: MD5 and SHA-1 (collisions can be forged, so a signature
/// under them proves less than it claims), SHA-224 and the rest (not in the list).
/// </summary>
internal static class CsrSignature
{
    private static readonly DerObjectIdentifier EcPublicKey = new("1.2.840.10045.2.1");
    private static readonly DerObjectIdentifier Ed25519 = new("1.3.101.112");

    /// <summary>The broken algorithms, by OID, with their names: refused with the fix rather than as unknown.</summary>
    private static readonly Dictionary<string, string> Weak = new(StringComparer.Ordinal)
    {
        ["1.2.840.113549.1.1.2"] = "md2WithRSAEncryption (MD2)",
        ["1.2.840.113549.1.1.3"] = "md4WithRSAEncryption (MD4)",
        ["1.2.840.113549.1.1.4"] = "md5WithRSAEncryption (MD5)",
        ["1.2.840.113549.1.1.5"] = "sha1WithRSAEncryption (SHA-1)",
        ["1.3.14.3.2.29"] = "sha1WithRSASignature (SHA-1)",
        ["1.3.14.3.2.3"] = "md5WithRSA (MD5)",
        ["1.2.840.10045.4.1"] = "ecdsa-with-SHA1 (SHA-1)",
        ["1.2.840.10040.4.3"] = "dsa-with-sha1 (SHA-1)",
    };

    /// <summary>Names of the other algorithms openssl can sign with, for a readable refusal.</summary>
    private static readonly Dictionary<string, string> Unaccepted = new(StringComparer.Ordinal)
    {
        ["1.2.840.113549.1.1.14"] = "sha224WithRSAEncryption",
        ["1.2.840.10045.4.3.1"] = "ecdsa-with-SHA224",
        ["2.16.840.1.101.3.4.3.13"] = "id-rsassa-pkcs1-v1_5-with-sha3-224",
        ["2.16.840.1.101.3.4.3.14"] = "id-rsassa-pkcs1-v1_5-with-sha3-256",
        ["2.16.840.1.101.3.4.3.15"] = "id-rsassa-pkcs1-v1_5-with-sha3-384",
        ["2.16.840.1.101.3.4.3.16"] = "id-rsassa-pkcs1-v1_5-with-sha3-512",
        ["2.16.840.1.101.3.4.3.10"] = "id-ecdsa-with-sha3-256",
        ["2.16.840.1.101.3.4.3.11"] = "id-ecdsa-with-sha3-384",
        ["2.16.840.1.101.3.4.3.12"] = "id-ecdsa-with-sha3-512",
        ["1.3.101.113"] = "Ed448",
    };

    private const string Fix = "sign the CSR with SHA-256 or better ('openssl req -new -sha256', the default)";

    /// <summary>
    /// True when the signature verifies; throws <see cref="CsrRejectedException"/> for an algorithm that is not accepted
    /// or that does not fit the key, whether or not the signature would verify.
    /// </summary>
    /// <param name="request">The parsed CSR.</param>
    /// <param name="publicKeyInfo">Its public key.</param>
    /// <param name="platformOnly">
    /// Verify ECDSA through <see cref="ECDsa"/> even where <see cref="OpenSslEcdsaVerifier"/> could (how every CSR was
    /// verified before issue 16; the issuance benchmark's baseline).
    /// </param>
    public static bool Verify(Pkcs10CertificationRequest request, SubjectPublicKeyInfo publicKeyInfo, bool platformOnly = false)
    {
        var algorithm = request.SignatureAlgorithm;
        var keyAlgorithm = publicKeyInfo.Algorithm.Algorithm;
        var id = algorithm.Algorithm.Id;
        if (Weak.TryGetValue(id, out var weak))
        {
            throw new CsrRejectedException($"The CSR is signed with {weak}, which is broken (collisions can be forged); {Fix}.");
        }
        switch (id)
        {
            case "1.2.840.10045.4.3.2" or "1.2.840.10045.4.3.3" or "1.2.840.10045.4.3.4": // ecdsa-with-SHA256/384/512 (RFC 5758 3.2)
                RequireKey(keyAlgorithm, EcPublicKey, "ECDSA", "an EC");
                if (!platformOnly && VerifyEcdsaDirect(request, publicKeyInfo, HashOf(id[^1])) is { } direct)
                {
                    return direct;
                }
                using (var ecdsa = ECDsa.Create())
                {
                    ecdsa.ImportSubjectPublicKeyInfo(publicKeyInfo.GetDerEncoded(), out _);
                    return ecdsa.VerifyData(SignedBytes(request), request.GetSignatureOctets(), HashOf(id[^1]), DSASignatureFormat.Rfc3279DerSequence);
                }
            case "1.2.840.113549.1.1.11" or "1.2.840.113549.1.1.12" or "1.2.840.113549.1.1.13": // sha256/384/512WithRSAEncryption (RFC 4055 5)
                // RFC 4055 1.2: an id-RSASSA-PSS key may only make PSS signatures.
                RequireKey(keyAlgorithm, PkcsObjectIdentifiers.RsaEncryption, "RSA PKCS#1 v1.5", "an rsaEncryption");
                using (var rsa = RSA.Create())
                {
                    rsa.ImportSubjectPublicKeyInfo(publicKeyInfo.GetDerEncoded(), out _);
                    var hash = id[^1] switch { '1' => HashAlgorithmName.SHA256, '2' => HashAlgorithmName.SHA384, _ => HashAlgorithmName.SHA512 };
                    return rsa.VerifyData(SignedBytes(request), request.GetSignatureOctets(), hash, RSASignaturePadding.Pkcs1);
                }
            case "1.2.840.113549.1.1.10": // id-RSASSA-PSS
                return VerifyPss(request, publicKeyInfo);
            case "1.3.101.112": // id-Ed25519 (RFC 8410 3: no parameters)
                RequireKey(keyAlgorithm, Ed25519, "Ed25519", "an Ed25519");
                return request.Verify();
            default:
                var name = Unaccepted.TryGetValue(id, out var known) ? $"{known} ({id})" : id;
                throw new CsrRejectedException(
                    $"The CSR's signature algorithm {name} is not accepted; sign with ECDSA, RSA (PKCS#1 v1.5 or PSS) or Ed25519, using SHA-256, SHA-384 or SHA-512.");
        }
    }

    /// <summary>
    /// ECDSA on P-256 or P-384 through <see cref="OpenSslEcdsaVerifier"/>, which skips the key import that dominates
    /// <see cref="ECDsa"/>'s cost for a fresh key; null when it cannot answer (the caller verifies with .NET then).
    /// </summary>
    private static bool? VerifyEcdsaDirect(Pkcs10CertificationRequest request, SubjectPublicKeyInfo publicKeyInfo, HashAlgorithmName hash)
    {
        var curve = publicKeyInfo.Algorithm.Parameters as DerObjectIdentifier;
        var bits = SecObjectIdentifiers.SecP256r1.Equals(curve) ? 256 : SecObjectIdentifiers.SecP384r1.Equals(curve) ? 384 : 0;
        if (bits == 0 || publicKeyInfo.PublicKey.PadBits != 0)
        {
            return null;
        }
        return OpenSslEcdsaVerifier.TryVerify(publicKeyInfo.PublicKey.GetOctets(), bits, SignedBytes(request), request.GetSignatureOctets(), hash);
    }

    /// <summary>
    /// RSASSA-PSS (RFC 4055 3.1, RFC 8017 8.1). Refused before verifying: a SHA-1 (or absent, meaning SHA-1) hash, a mask
    /// generation function other than MGF1 over the same hash (TLS 1.3's rsa_pss_* schemes, RFC 8446 4.2.3, use only
    /// that shape, so a certificate for such a key would be unusable), and a trailer field other than 1. When the key is
    /// an id-RSASSA-PSS key with parameters, the signature must also keep its restrictions (RFC 4055 3.3).
    /// </summary>
    private static bool VerifyPss(Pkcs10CertificationRequest request, SubjectPublicKeyInfo publicKeyInfo)
    {
        var keyAlgorithm = publicKeyInfo.Algorithm.Algorithm;
        if (!PkcsObjectIdentifiers.RsaEncryption.Equals(keyAlgorithm) && !PkcsObjectIdentifiers.IdRsassaPss.Equals(keyAlgorithm))
        {
            throw new CsrRejectedException($"The CSR is signed with RSASSA-PSS but its key is {keyAlgorithm.Id}, not RSA; sign it with its own key.");
        }
        var parameters = ReadPssParameters(request.SignatureAlgorithm.Parameters, "signature");
        if (PkcsObjectIdentifiers.IdRsassaPss.Equals(keyAlgorithm) && publicKeyInfo.Algorithm.Parameters is { } keyParameters and not DerNull)
        {
            var restriction = ReadPssParameters(keyParameters, "key");
            if (restriction.Hash != parameters.Hash || restriction.MaskHash != parameters.MaskHash || parameters.SaltLength < restriction.SaltLength)
            {
                throw new CsrRejectedException(
                    $"The CSR's RSASSA-PSS signature ({parameters}) breaks its key's restrictions ({restriction}); sign with the key's hash and a salt at least that long.");
            }
        }

        RsaPublicKeyStructure key;
        try
        {
            key = RsaPublicKeyStructure.GetInstance(publicKeyInfo.ParsePublicKey());
        }
        catch (Exception)
        {
            throw new CsrRejectedException("The CSR's RSA public key is malformed.");
        }
        var signer = new PssSigner(new RsaEngine(), Digest(parameters.Hash), Digest(parameters.MaskHash), parameters.SaltLength, PssSigner.TrailerImplicit);
        signer.Init(false, new RsaKeyParameters(false, key.Modulus, key.PublicExponent));
        var signed = SignedBytes(request);
        signer.BlockUpdate(signed, 0, signed.Length);
        return signer.VerifySignature(request.GetSignatureOctets());
    }

    private sealed record PssParameters(string Hash, string MaskHash, int SaltLength)
    {
        public override string ToString() => $"{Hash}, MGF1 with {MaskHash}, salt {SaltLength}";
    }

    /// <summary>Reads RSASSA-PSS-params, refusing the shapes <see cref="VerifyPss"/> names; <paramref name="of"/> says whose.</summary>
    private static PssParameters ReadPssParameters(Asn1Encodable? encoded, string of)
    {
        RsassaPssParameters parameters;
        try
        {
            // RFC 4055 3.1: absent fields take their defaults (SHA-1, MGF1 with SHA-1, salt 20, trailer 1).
            parameters = encoded is null or DerNull ? new RsassaPssParameters() : RsassaPssParameters.GetInstance(encoded);
        }
        catch (Exception)
        {
            throw new CsrRejectedException($"The CSR's RSASSA-PSS {of} parameters are malformed (RFC 4055 3.1); create the CSR with 'openssl req -new -sigopt rsa_padding_mode:pss'.");
        }
        var hash = HashName(parameters.HashAlgorithm);
        if (hash == "SHA-1")
        {
            throw new CsrRejectedException($"The CSR is signed with RSASSA-PSS with SHA-1, which is broken (collisions can be forged); {Fix}.");
        }
        if (hash is null)
        {
            throw new CsrRejectedException(
                $"The CSR's RSASSA-PSS {of} uses hash {parameters.HashAlgorithm.Algorithm.Id}, which is not accepted; use SHA-256, SHA-384 or SHA-512.");
        }
        if (!PkcsObjectIdentifiers.IdMgf1.Equals(parameters.MaskGenAlgorithm.Algorithm))
        {
            throw new CsrRejectedException(
                $"The CSR's RSASSA-PSS {of} uses mask generation function {parameters.MaskGenAlgorithm.Algorithm.Id}; only MGF1 (RFC 8017 B.2.1) is accepted.");
        }
        string? maskHash;
        try
        {
            maskHash = HashName(AlgorithmIdentifier.GetInstance(parameters.MaskGenAlgorithm.Parameters));
        }
        catch (Exception)
        {
            maskHash = null;
        }
        if (maskHash != hash)
        {
            throw new CsrRejectedException(
                $"The CSR's RSASSA-PSS {of} uses MGF1 with {maskHash ?? "an unknown hash"} but hashes with {hash}; use MGF1 over the same hash, as TLS 1.3 requires "
                + $"(RFC 8446 4.2.3): SHA-256 or better for both ('-sigopt rsa_mgf1_md:{hash.Replace("-", "", StringComparison.Ordinal).ToLowerInvariant()}', "
                + "or 'rsa_pss_keygen_mgf1_md' when making an RSA-PSS key).");
        }
        int saltLength;
        try
        {
            saltLength = parameters.SaltLength.IntValueExact;
        }
        catch (Exception)
        {
            saltLength = -1;
        }
        if (saltLength < 0 || !parameters.TrailerField.HasValue(1))
        {
            throw new CsrRejectedException($"The CSR's RSASSA-PSS {of} parameters have a negative or huge salt length or a trailer field other than 1 (RFC 4055 3.1).");
        }
        return new PssParameters(hash, maskHash, saltLength);
    }

    /// <summary>The name of a hash algorithm identifier we know, or null.</summary>
    private static string? HashName(AlgorithmIdentifier algorithm) => algorithm.Algorithm switch
    {
        var oid when OiwObjectIdentifiers.IdSha1.Equals(oid) => "SHA-1",
        var oid when NistObjectIdentifiers.IdSha256.Equals(oid) => "SHA-256",
        var oid when NistObjectIdentifiers.IdSha384.Equals(oid) => "SHA-384",
        var oid when NistObjectIdentifiers.IdSha512.Equals(oid) => "SHA-512",
        _ => null,
    };

    private static IDigest Digest(string hash) => hash switch
    {
        "SHA-256" => new Sha256Digest(),
        "SHA-384" => new Sha384Digest(),
        _ => new Sha512Digest(),
    };

    /// <summary>ecdsa-with-SHA256/384/512 end in .2/.3/.4.</summary>
    private static HashAlgorithmName HashOf(char last) => last switch
    {
        '2' => HashAlgorithmName.SHA256,
        '3' => HashAlgorithmName.SHA384,
        _ => HashAlgorithmName.SHA512,
    };

    /// <summary>RFC 2986 4.2: the signature is over the DER of the CertificationRequestInfo.</summary>
    private static byte[] SignedBytes(Pkcs10CertificationRequest request) => request.GetCertificationRequestInfo().GetDerEncoded();

    private static void RequireKey(DerObjectIdentifier keyAlgorithm, DerObjectIdentifier expected, string signature, string key)
    {
        if (!expected.Equals(keyAlgorithm))
        {
            throw new CsrRejectedException($"The CSR is signed with {signature} but its key is not {key} key; sign it with its own key.");
        }
    }
}
