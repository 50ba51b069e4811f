using System.Security.Cryptography;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;
using PkiService.Core.Errors;
using PkiService.Core.Primitives;

namespace PkiService.Core.Issuance;

/// <summary>
/// A PKCS#10 certification request (RFC 2986) that has been parsed, whose self-signature verifies, and
/// whose key is one we accept: RSA 2048/3072/4096 (rsaEncryption or id-RSASSA-PSS), ECDSA P-256/P-384 or Ed25519, and
/// whose signature algorithm is one <see cref="CsrSignature"/> accepts.
/// Only its public key and its requested names are ever used; everything else in it is ignored.
/// </summary>
public sealed class CertificationRequest
{
    private static readonly int[] AcceptedRsaSizes = [2048, 3072, 4096];

    private AsymmetricKeyParameter? _publicKey;

    private CertificationRequest(SubjectPublicKeyInfo publicKeyInfo, string? commonName, IReadOnlyList<SubjectAltName> subjectAltNames, string keyDescription)
    {
        PublicKeyInfo = publicKeyInfo;
        CommonName = commonName;
        SubjectAltNames = subjectAltNames;
        KeyDescription = keyDescription;
    }

    /// <summary>The subject's public key as BouncyCastle parameters (decoded on first use: issuance needs only <see cref="PublicKeyInfo"/>).</summary>
    public AsymmetricKeyParameter PublicKey => _publicKey ??= PublicKeyFactory.CreateKey(PublicKeyInfo);

    /// <summary>The subject's public key as it will be encoded in the certificate.</summary>
    public SubjectPublicKeyInfo PublicKeyInfo { get; }

    /// <summary>The CN the request asks for, if any.</summary>
    public string? CommonName { get; }

    /// <summary>The SANs the request asks for (extensionRequest attribute, RFC 2985 5.4.2).</summary>
    public IReadOnlyList<SubjectAltName> SubjectAltNames { get; }

    /// <summary>A short description of the key, such as "ECDSA P-256".</summary>
    public string KeyDescription { get; }

    /// <summary>True when the subject key is RSA.</summary>
    public bool IsRsa => PkcsObjectIdentifiers.RsaEncryption.Equals(PublicKeyInfo.Algorithm.Algorithm);

    /// <summary>
    /// True when <paramref name="other"/> holds the same public key as this request, compared as keys rather than as
    /// encodings: RSA by modulus (so an rsaEncryption and an id-RSASSA-PSS encoding of one key match), EC by curve and
    /// point (compressed or not), Ed25519 by its 32 bytes.
    /// </summary>
    public bool HasSameKeyAs(SubjectPublicKeyInfo other)
    {
        ArgumentNullException.ThrowIfNull(other);
        AsymmetricKeyParameter key;
        try
        {
            key = PublicKeyFactory.CreateKey(other);
        }
        catch (Exception)
        {
            return false;
        }
        return (PublicKey, key) switch
        {
            (RsaKeyParameters mine, RsaKeyParameters theirs) => mine.Modulus.Equals(theirs.Modulus),
            (ECPublicKeyParameters mine, ECPublicKeyParameters theirs) => mine.Parameters.Curve.Equals(theirs.Parameters.Curve) && mine.Q.Equals(theirs.Q),
            (Ed25519PublicKeyParameters mine, Ed25519PublicKeyParameters theirs) => mine.GetEncoded().AsSpan().SequenceEqual(theirs.GetEncoded()),
            _ => false,
        };
    }

    /// <summary>Parses, verifies and checks a PEM CSR; throws <see cref="CsrRejectedException"/> saying what is wrong.</summary>
    public static CertificationRequest FromPem(string pem) => FromPem(pem, platformVerifier: false);

    /// <summary><see cref="FromPem(string)"/> with the verifier choice of <see cref="FromDer(byte[], bool)"/>.</summary>
    public static CertificationRequest FromPem(string pem, bool platformVerifier)
    {
        if (string.IsNullOrWhiteSpace(pem) || !PemEncoding.TryFind(pem, out var fields))
        {
            throw new CsrRejectedException("The CSR is not PEM; send the output of 'openssl req' including the '-----BEGIN CERTIFICATE REQUEST-----' line.");
        }
        var label = pem[fields.Label];
        if (label is not ("CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST"))
        {
            throw new CsrRejectedException($"The PEM block is a '{label}', not a 'CERTIFICATE REQUEST'.");
        }
        byte[] der;
        try
        {
            der = Convert.FromBase64String(pem[fields.Base64Data]);
        }
        catch (FormatException)
        {
            throw new CsrRejectedException("The CSR's PEM body is not valid base64.");
        }
        return FromDer(der, platformVerifier);
    }

    /// <summary>Parses, verifies and checks a DER CSR; throws <see cref="CsrRejectedException"/> saying what is wrong.</summary>
    public static CertificationRequest FromDer(byte[] der) => FromDer(der, platformVerifier: false);

    /// <summary>
    /// <see cref="FromDer(byte[])"/>, with ECDSA signatures verified through System.Security.Cryptography's key import
    /// when <paramref name="platformVerifier"/> is true: how it was done before issue 16, kept as the issuance benchmark's
    /// baseline (the verdicts are the same).
    /// </summary>
    public static CertificationRequest FromDer(byte[] der, bool platformVerifier)
    {
        Pkcs10CertificationRequest request;
        SubjectPublicKeyInfo publicKeyInfo;
        try
        {
            request = new Pkcs10CertificationRequest(der);
            publicKeyInfo = request.GetCertificationRequestInfo().SubjectPublicKeyInfo;
        }
        catch (Exception exception) when (exception is not CsrRejectedException)
        {
            throw new CsrRejectedException("The CSR is not a valid PKCS#10 structure (RFC 2986); create it with 'openssl req -new'.");
        }

        var keyDescription = CheckKey(publicKeyInfo);

        bool verified;
        try
        {
            verified = CsrSignature.Verify(request, publicKeyInfo, platformVerifier);
        }
        catch (Exception exception) when (exception is not CsrRejectedException)
        {
            verified = false;
        }
        if (!verified)
        {
            // RFC 2986 4.2: the signature proves possession of the private key; without it we would certify someone else's key.
            throw new CsrRejectedException("The CSR's signature does not verify against its own public key; the request was altered or signed with another key.");
        }

        var info = request.GetCertificationRequestInfo();
        var commonNames = info.Subject.GetValueList(X509Name.CN);
        if (commonNames.Count > 1)
        {
            throw new CsrRejectedException("The CSR subject has more than one CN; request exactly one.");
        }
        return new CertificationRequest(info.SubjectPublicKeyInfo, commonNames.FirstOrDefault(), ReadSubjectAltNames(request), keyDescription);
    }

    /// <summary>Reads the key type and size from the SubjectPublicKeyInfo alone (RFC 5480, RFC 3279, RFC 8410).</summary>
    private static string CheckKey(SubjectPublicKeyInfo info)
    {
        var algorithm = info.Algorithm.Algorithm;
        switch (algorithm.Id)
        {
            case "1.2.840.113549.1.1.1": // rsaEncryption
            case "1.2.840.113549.1.1.10": // id-RSASSA-PSS (RFC 4055 1.2): the same RSAPublicKey, usable only for PSS signatures
                var kind = algorithm.Id.EndsWith(".10", StringComparison.Ordinal) ? "RSA-PSS" : "RSA";
                int bits;
                try
                {
                    bits = RsaPublicKeyStructure.GetInstance(info.ParsePublicKey()).Modulus.BitLength;
                }
                catch (Exception)
                {
                    throw new CsrRejectedException($"The CSR's {kind} public key is malformed.");
                }
                if (!AcceptedRsaSizes.Contains(bits))
                {
                    throw new CsrRejectedException($"{kind}-{bits} keys are not accepted; use RSA 2048, 3072 or 4096, ECDSA P-256 or P-384, or Ed25519.");
                }
                return $"{kind}-{bits}";
            case "1.2.840.10045.2.1": // id-ecPublicKey
                var curve = info.Algorithm.Parameters is DerObjectIdentifier oid ? oid : null;
                if (SecObjectIdentifiers.SecP256r1.Equals(curve))
                {
                    return "ECDSA P-256";
                }
                if (SecObjectIdentifiers.SecP384r1.Equals(curve))
                {
                    return "ECDSA P-384";
                }
                var name = curve is null
                    ? "explicit parameters"
                    : Org.BouncyCastle.Asn1.Nist.NistNamedCurves.GetName(curve) is { } nist
                        ? $"P-{nist[2..]} ({SecNamedCurves.GetName(curve)})"
                        : X962NamedCurves.GetName(curve) ?? SecNamedCurves.GetName(curve) ?? curve.Id;
                throw new CsrRejectedException($"ECDSA keys on curve '{name}' are not accepted; use P-256 or P-384 (named curves).");
            case "1.3.101.112": // id-Ed25519
                return "Ed25519";
            default:
                throw new CsrRejectedException($"{info.Algorithm.Algorithm.Id} keys are not accepted; use RSA 2048/3072/4096, ECDSA P-256/P-384 or Ed25519.");
        }
    }

    /// <summary>
    /// Reads the names of the subjectAltName extension in the extensionRequest attribute (RFC 2985 5.4.2), refusing
    /// every malformed shape with a message that names it: more than one extensionRequest attribute or value, an
    /// extension listed twice (RFC 5280 4.2), a value that is not GeneralNames, an empty GeneralNames (RFC 5280 4.2.1.6),
    /// or a name <see cref="SubjectAltName.FromGeneralName"/> refuses. Other extensions are read only to be ignored.
    /// </summary>
    private static List<SubjectAltName> ReadSubjectAltNames(Pkcs10CertificationRequest request)
    {
        var subjectAltName = FindRequestedSubjectAltName(request.GetCertificationRequestInfo().Attributes);
        var names = new List<SubjectAltName>();
        if (subjectAltName is null)
        {
            return names;
        }
        Asn1Sequence generalNames;
        try
        {
            generalNames = Asn1Sequence.GetInstance(Asn1Object.FromByteArray(subjectAltName));
        }
        catch (Exception)
        {
            throw new CsrRejectedException("The CSR's subjectAltName extension is not a GeneralNames (RFC 5280 4.2.1.6); create it with 'openssl req -addext subjectAltName=...'.");
        }
        if (generalNames.Count == 0)
        {
            throw new CsrRejectedException("The CSR's subjectAltName extension has no names; leave the extension out or list at least one name.");
        }
        for (var index = 0; index < generalNames.Count; index++)
        {
            GeneralName generalName;
            SubjectAltName? name;
            try
            {
                generalName = GeneralName.GetInstance(generalNames[index]);
                name = SubjectAltName.FromGeneralName(generalName);
            }
            catch (FormatException exception)
            {
                throw new CsrRejectedException($"The CSR's subjectAltName {exception.Message}");
            }
            catch (Exception)
            {
                throw new CsrRejectedException($"The CSR's subjectAltName entry {index + 1} is not a valid GeneralName (RFC 5280 4.2.1.6).");
            }
            names.Add(name ?? throw new CsrRejectedException(
                $"The CSR asks for a subjectAltName of type {generalName.TagNo}; only DNS, IP, e-mail and URI names are issued."));
        }
        return names;
    }

    /// <summary>The DER value of the requested subjectAltName extension, or null when none is requested.</summary>
    private static byte[]? FindRequestedSubjectAltName(Asn1Set? attributes)
    {
        byte[]? subjectAltName = null;
        var extensionRequests = 0;
        foreach (var element in attributes ?? new DerSet())
        {
            AttributePkcs attribute;
            try
            {
                attribute = AttributePkcs.GetInstance(element);
            }
            catch (Exception)
            {
                throw new CsrRejectedException("The CSR's attributes are malformed (RFC 2986 4.1); create it with 'openssl req -new'.");
            }
            if (!PkcsObjectIdentifiers.Pkcs9AtExtensionRequest.Equals(attribute.AttrType))
            {
                continue; // challengePassword and the like: not used
            }
            if (++extensionRequests > 1)
            {
                throw new CsrRejectedException("The CSR has more than one extensionRequest attribute; put every requested extension in one.");
            }
            // RFC 2985 5.4.2: extensionRequest is single-valued.
            if (attribute.AttrValues.Count != 1)
            {
                throw new CsrRejectedException("The CSR's extensionRequest attribute must have exactly one value (RFC 2985 5.4.2).");
            }
            var seen = new HashSet<DerObjectIdentifier>();
            try
            {
                foreach (var item in Asn1Sequence.GetInstance(attribute.AttrValues[0]))
                {
                    var extension = Asn1Sequence.GetInstance(item);
                    if (extension.Count is < 2 or > 3)
                    {
                        throw new FormatException("An Extension has two or three fields.");
                    }
                    var oid = DerObjectIdentifier.GetInstance(extension[0]);
                    var value = Asn1OctetString.GetInstance(extension[extension.Count - 1]).GetOctets();
                    // RFC 5280 4.2: "A certificate MUST NOT include more than one instance of a particular extension."
                    if (!seen.Add(oid))
                    {
                        throw new CsrRejectedException(X509Extensions.SubjectAlternativeName.Equals(oid)
                            ? $"The CSR requests extension {oid.Id} (subjectAltName) more than once; list every name in one subjectAltName extension."
                            : $"The CSR requests extension {oid.Id} more than once (RFC 5280 4.2 allows each extension once).");
                    }
                    if (X509Extensions.SubjectAlternativeName.Equals(oid))
                    {
                        subjectAltName = value;
                    }
                }
            }
            catch (Exception exception) when (exception is not CsrRejectedException)
            {
                throw new CsrRejectedException("The CSR's extensionRequest attribute is malformed: it must hold one SEQUENCE of Extensions (RFC 2985 5.4.2, RFC 5280 4.1).");
            }
        }
        return subjectAltName;
    }
}
