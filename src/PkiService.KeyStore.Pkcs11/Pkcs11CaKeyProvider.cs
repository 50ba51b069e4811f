using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using PkiService.Core.Authorities;

namespace PkiService.KeyStore.Pkcs11;

/// <summary>
/// CA keys in a PKCS#11 token (<c>Pki:KeyStore</c> = <c>Pkcs11</c>): each key pair is generated inside the token
/// (private key sensitive and not extractable), labelled with the CA's name, and stored next to the CA certificate as
/// a <c>CKO_CERTIFICATE</c> with the same label and <c>CKA_ID</c>. Every signature is made by the token through
/// <see cref="Pkcs11ECDsa"/> or <see cref="Pkcs11Rsa"/>. Opening the provider loads the module, finds the token by
/// label and logs in; a misconfiguration stops it with one <see cref="Pkcs11ConfigurationException"/> line.
/// <see cref="Save"/> with a software key (a CA brought in from outside) imports that key into the token first.
/// </summary>
public sealed class Pkcs11CaKeyProvider : ICaKeyProvider, IDisposable
{
    // DER OIDs for CKA_EC_PARAMS (RFC 5480 2.1.1.1: namedCurve).
    private static readonly byte[] P256Oid = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    private static readonly byte[] P384Oid = [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

    private readonly Pkcs11Token _token;

    /// <summary>Opens the token; throws <see cref="Pkcs11ConfigurationException"/> (one line, naming the key to fix) when it cannot.</summary>
    public Pkcs11CaKeyProvider(Pkcs11Options options, ILogger<Pkcs11CaKeyProvider>? logger = null)
    {
        _token = Pkcs11Token.Open(options, (ILogger?)logger ?? NullLogger.Instance);
    }

    /// <summary>The open token, for tests that act on its sessions.</summary>
    internal Pkcs11Token Token => _token;

    /// <inheritdoc />
    public CaKey? TryLoad(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var stored = _token.Run<(byte[] Der, byte[] Id, X509Certificate2 Certificate, CKK KeyType)?>(session =>
        {
            var certificates = Find(session, CKO.CKO_CERTIFICATE, name)
                .Select(handle => ReadAttributes(session, handle, CKA.CKA_VALUE, CKA.CKA_ID))
                .Select(values => (Der: values[0], Id: values[1], Certificate: X509CertificateLoader.LoadCertificate(values[0])))
                .ToList();
            if (certificates.Count == 0)
            {
                // A key pair without a certificate is from a creation that never finished: the CA does not exist yet
                // (CreateKey replaces such a key).
                return null;
            }
            // Save creates the new certificate before it removes the old one; if a stop came in between, the newer wins.
            var chosen = certificates.OrderByDescending(c => c.Certificate.NotBefore).First();
            foreach (var other in certificates.Where(c => !ReferenceEquals(c.Certificate, chosen.Certificate)))
            {
                other.Certificate.Dispose();
            }
            var keys = Find(session, CKO.CKO_PRIVATE_KEY, name, chosen.Id);
            if (keys.Count == 0)
            {
                throw new CryptographicException(
                    $"Token '{_token.Label}' holds the certificate of CA '{name}' but no private key with its CKA_ID {Convert.ToHexString(chosen.Id)}.");
            }
            var keyType = (CKK)session.GetAttributeValue(keys[0], [CKA.CKA_KEY_TYPE])[0].GetValueAsUlong();
            return (chosen.Der, chosen.Id, chosen.Certificate, keyType);
        });
        if (stored is not { } found)
        {
            return null;
        }
        using var certificate = found.Certificate;
        AsymmetricAlgorithm key = found.KeyType switch
        {
            CKK.CKK_EC => new Pkcs11ECDsa(_token, name, found.Id, PublicParameters(certificate.GetECDsaPublicKey(), name)),
            CKK.CKK_RSA => new Pkcs11Rsa(_token, name, found.Id, PublicParameters(certificate.GetRSAPublicKey(), name)),
            _ => throw new CryptographicException($"The private key of CA '{name}' in token '{_token.Label}' is of type {found.KeyType}; only EC and RSA keys sign."),
        };
        // The definitive check that the certificate belongs to this private key: a signature made by the token verifies
        // with the certificate's public key.
        if (!SignsForCertificate(key))
        {
            key.Dispose();
            throw new CryptographicException(
                $"The certificate of CA '{name}' in token '{_token.Label}' does not match the private key with its CKA_ID (its public key is another key's).");
        }
        return new CaKey(found.Der, key);
    }

    /// <inheritdoc />
    public AsymmetricAlgorithm CreateKey(string name, CaKeyAlgorithm algorithm)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var attributes = _token.Factories.ObjectAttributeFactory;
        return _token.Run<AsymmetricAlgorithm>(session =>
        {
            // A key labelled with this name whose CKA_ID has no certificate is left over from a start that stopped
            // between CreateKey and Save. It is REPLACED, not reused: it never signed anything, so nothing depends on
            // it, and reusing it would mean trusting that it was made with the algorithm asked for now. A key that has
            // a certificate is the current CA's and stays until Save stores its successor.
            var certifiedIds = Find(session, CKO.CKO_CERTIFICATE, name)
                .Select(handle => Convert.ToHexString(ReadAttributes(session, handle, CKA.CKA_ID)[0]))
                .ToHashSet(StringComparer.Ordinal);
            foreach (var handle in Find(session, CKO.CKO_PRIVATE_KEY, name).Concat(Find(session, CKO.CKO_PUBLIC_KEY, name)))
            {
                if (!certifiedIds.Contains(Convert.ToHexString(ReadAttributes(session, handle, CKA.CKA_ID)[0])))
                {
                    session.DestroyObject(handle);
                }
            }

            var id = RandomNumberGenerator.GetBytes(16);
            var publicTemplate = PublicKeyTemplate(name, id);
            var privateTemplate = PrivateKeyTemplate(name, id);
            var (mechanismType, curve) = algorithm switch
            {
                CaKeyAlgorithm.EcdsaP256 => (CKM.CKM_EC_KEY_PAIR_GEN, ECCurve.NamedCurves.nistP256),
                CaKeyAlgorithm.EcdsaP384 => (CKM.CKM_EC_KEY_PAIR_GEN, ECCurve.NamedCurves.nistP384),
                CaKeyAlgorithm.Rsa2048 or CaKeyAlgorithm.Rsa3072 or CaKeyAlgorithm.Rsa4096 => (CKM.CKM_RSA_PKCS_KEY_PAIR_GEN, default(ECCurve)),
                _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "Unknown CA key algorithm."),
            };
            if (mechanismType == CKM.CKM_EC_KEY_PAIR_GEN)
            {
                publicTemplate.Add(attributes.Create(CKA.CKA_EC_PARAMS, algorithm == CaKeyAlgorithm.EcdsaP256 ? P256Oid : P384Oid));
            }
            else
            {
                var bits = algorithm switch { CaKeyAlgorithm.Rsa2048 => 2048UL, CaKeyAlgorithm.Rsa3072 => 3072UL, _ => 4096UL };
                publicTemplate.Add(attributes.Create(CKA.CKA_MODULUS_BITS, bits));
                publicTemplate.Add(attributes.Create(CKA.CKA_PUBLIC_EXPONENT, new byte[] { 0x01, 0x00, 0x01 }));
            }
            using var mechanism = _token.Factories.MechanismFactory.Create(mechanismType);
            session.GenerateKeyPair(mechanism, publicTemplate, privateTemplate, out var publicKey, out _);

            if (mechanismType == CKM.CKM_EC_KEY_PAIR_GEN)
            {
                var point = DecodeEcPoint(ReadAttributes(session, publicKey, CKA.CKA_EC_POINT)[0]);
                var half = (point.Length - 1) / 2;
                return new Pkcs11ECDsa(_token, name, id, new ECParameters
                {
                    Curve = curve,
                    Q = new ECPoint { X = point[1..(1 + half)], Y = point[(1 + half)..] },
                });
            }
            var rsa = ReadAttributes(session, publicKey, CKA.CKA_MODULUS, CKA.CKA_PUBLIC_EXPONENT);
            return new Pkcs11Rsa(_token, name, id, new RSAParameters { Modulus = rsa[0], Exponent = rsa[1] });
        });
    }

    /// <inheritdoc />
    public void Save(string name, byte[] certificateDer, AsymmetricAlgorithm key)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(certificateDer);
        ArgumentNullException.ThrowIfNull(key);
        var (id, import) = key switch
        {
            Pkcs11ECDsa ec when ReferenceEquals(ec.Token, _token) => (ec.Id, false),
            Pkcs11Rsa rsa when ReferenceEquals(rsa.Token, _token) => (rsa.Id, false),
            Pkcs11ECDsa or Pkcs11Rsa => throw new ArgumentException($"The key of CA '{name}' belongs to another PKCS#11 token.", nameof(key)),
            ECDsa or RSA => (RandomNumberGenerator.GetBytes(16), true),
            _ => throw new ArgumentException($"The key of CA '{name}' is a {key.GetType().Name}; only ECDSA and RSA keys sign.", nameof(key)),
        };
        using var certificate = X509CertificateLoader.LoadCertificate(certificateDer);
        if (!certificate.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
        {
            throw new ArgumentException($"The certificate given for CA '{name}' is not for its key (the public keys differ).", nameof(certificateDer));
        }
        var attributes = _token.Factories.ObjectAttributeFactory;
        _token.Run(session =>
        {
            var earlierCertificates = Find(session, CKO.CKO_CERTIFICATE, name);
            if (import)
            {
                ImportSoftwareKey(session, name, id, key);
            }
            // PKCS#11 v2.40 4.6.3: X.509 certificate objects; CKA_SUBJECT is required, issuer and serial help tools find it.
            var created = session.CreateObject(
            [
                attributes.Create(CKA.CKA_CLASS, CKO.CKO_CERTIFICATE),
                attributes.Create(CKA.CKA_CERTIFICATE_TYPE, CKC.CKC_X_509),
                attributes.Create(CKA.CKA_TOKEN, true),
                attributes.Create(CKA.CKA_PRIVATE, false),
                attributes.Create(CKA.CKA_LABEL, name),
                attributes.Create(CKA.CKA_ID, id),
                attributes.Create(CKA.CKA_SUBJECT, certificate.SubjectName.RawData),
                attributes.Create(CKA.CKA_ISSUER, certificate.IssuerName.RawData),
                attributes.Create(CKA.CKA_SERIAL_NUMBER, EncodeSerialNumber(certificate.SerialNumberBytes.Span)),
                attributes.Create(CKA.CKA_VALUE, certificateDer),
            ]);
            // Only now, with the new certificate stored, go the earlier certificate and the keys it certified.
            foreach (var handle in earlierCertificates.Where(h => h.ObjectId != created.ObjectId))
            {
                session.DestroyObject(handle);
            }
            foreach (var handle in Find(session, CKO.CKO_PRIVATE_KEY, name).Concat(Find(session, CKO.CKO_PUBLIC_KEY, name)))
            {
                if (!ReadAttributes(session, handle, CKA.CKA_ID)[0].AsSpan().SequenceEqual(id))
                {
                    session.DestroyObject(handle);
                }
            }
            return true;
        });
    }

    /// <summary>The attributes of a CA's public key object, generated or imported: on the token, public, verifies.</summary>
    private List<IObjectAttribute> PublicKeyTemplate(string name, byte[] id)
    {
        var attributes = _token.Factories.ObjectAttributeFactory;
        return
        [
            attributes.Create(CKA.CKA_TOKEN, true),
            attributes.Create(CKA.CKA_PRIVATE, false),
            attributes.Create(CKA.CKA_VERIFY, true),
            attributes.Create(CKA.CKA_LABEL, name),
            attributes.Create(CKA.CKA_ID, id),
        ];
    }

    /// <summary>
    /// The attributes of a CA's private key object, generated or imported: on the token, sensitive, never extractable,
    /// and it only signs (CKA_DECRYPT, CKA_UNWRAP and CKA_DERIVE false: module defaults may allow more).
    /// </summary>
    private List<IObjectAttribute> PrivateKeyTemplate(string name, byte[] id)
    {
        var attributes = _token.Factories.ObjectAttributeFactory;
        return
        [
            attributes.Create(CKA.CKA_TOKEN, true),
            attributes.Create(CKA.CKA_PRIVATE, true),
            attributes.Create(CKA.CKA_SENSITIVE, true),
            attributes.Create(CKA.CKA_EXTRACTABLE, false),
            attributes.Create(CKA.CKA_SIGN, true),
            attributes.Create(CKA.CKA_DECRYPT, false),
            attributes.Create(CKA.CKA_UNWRAP, false),
            attributes.Create(CKA.CKA_DERIVE, false),
            attributes.Create(CKA.CKA_LABEL, name),
            attributes.Create(CKA.CKA_ID, id),
        ];
    }

    public void Dispose() => _token.Dispose();

    /// <summary>
    /// Bringing an existing CA into the token (<c>ca import-issuing</c>): the software key becomes a token object,
    /// sensitive and not extractable from now on (CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE stay false, truthfully:
    /// the key was outside once). Modules that refuse C_CreateObject for private keys answer CKR_TEMPLATE_INCONSISTENT
    /// or similar; such a CA must be imported with the vendor's tool instead.
    /// </summary>
    private void ImportSoftwareKey(ISession session, string name, byte[] id, AsymmetricAlgorithm key)
    {
        var attributes = _token.Factories.ObjectAttributeFactory;
        // A retried attempt (after a reconnect) may have stored this id already.
        foreach (var stale in session.FindAllObjects([attributes.Create(CKA.CKA_ID, id)]))
        {
            session.DestroyObject(stale);
        }
        var publicTemplate = PublicKeyTemplate(name, id);
        publicTemplate.Add(attributes.Create(CKA.CKA_CLASS, CKO.CKO_PUBLIC_KEY));
        var privateTemplate = PrivateKeyTemplate(name, id);
        privateTemplate.Add(attributes.Create(CKA.CKA_CLASS, CKO.CKO_PRIVATE_KEY));
        byte[][] secrets;
        if (key is ECDsa ec)
        {
            var parameters = ec.ExportParameters(true);
            var curve = parameters.Curve.Oid?.Value switch
            {
                "1.2.840.10045.3.1.7" => P256Oid,
                "1.3.132.0.34" => P384Oid,
                _ => throw new ArgumentException($"The key of CA '{name}' is on a curve other than P-256 or P-384.", nameof(key)),
            };
            var point = new AsnWriter(AsnEncodingRules.DER);
            point.WriteOctetString([0x04, .. parameters.Q.X!, .. parameters.Q.Y!]);
            publicTemplate.AddRange([attributes.Create(CKA.CKA_KEY_TYPE, CKK.CKK_EC), attributes.Create(CKA.CKA_EC_PARAMS, curve), attributes.Create(CKA.CKA_EC_POINT, point.Encode())]);
            privateTemplate.AddRange([attributes.Create(CKA.CKA_KEY_TYPE, CKK.CKK_EC), attributes.Create(CKA.CKA_EC_PARAMS, curve), attributes.Create(CKA.CKA_VALUE, parameters.D!)]);
            secrets = [parameters.D!];
        }
        else
        {
            var parameters = ((RSA)key).ExportParameters(true);
            publicTemplate.AddRange(
            [
                attributes.Create(CKA.CKA_KEY_TYPE, CKK.CKK_RSA), attributes.Create(CKA.CKA_MODULUS, parameters.Modulus!),
                attributes.Create(CKA.CKA_PUBLIC_EXPONENT, parameters.Exponent!),
            ]);
            privateTemplate.AddRange(
            [
                attributes.Create(CKA.CKA_KEY_TYPE, CKK.CKK_RSA), attributes.Create(CKA.CKA_MODULUS, parameters.Modulus!),
                attributes.Create(CKA.CKA_PUBLIC_EXPONENT, parameters.Exponent!), attributes.Create(CKA.CKA_PRIVATE_EXPONENT, parameters.D!),
                attributes.Create(CKA.CKA_PRIME_1, parameters.P!), attributes.Create(CKA.CKA_PRIME_2, parameters.Q!),
                attributes.Create(CKA.CKA_EXPONENT_1, parameters.DP!), attributes.Create(CKA.CKA_EXPONENT_2, parameters.DQ!),
                attributes.Create(CKA.CKA_COEFFICIENT, parameters.InverseQ!),
            ]);
            secrets = [parameters.D!, parameters.P!, parameters.Q!, parameters.DP!, parameters.DQ!, parameters.InverseQ!];
        }
        try
        {
            session.CreateObject(publicTemplate);
            session.CreateObject(privateTemplate);
        }
        finally
        {
            foreach (var attribute in privateTemplate)
            {
                attribute.Dispose();
            }
            foreach (var secret in secrets)
            {
                CryptographicOperations.ZeroMemory(secret);
            }
        }
    }

    private List<IObjectHandle> Find(ISession session, CKO objectClass, string label, byte[]? id = null)
    {
        var attributes = _token.Factories.ObjectAttributeFactory;
        List<IObjectAttribute> template = [attributes.Create(CKA.CKA_CLASS, objectClass), attributes.Create(CKA.CKA_LABEL, label)];
        if (id is not null)
        {
            template.Add(attributes.Create(CKA.CKA_ID, id));
        }
        return session.FindAllObjects(template);
    }

    private static byte[][] ReadAttributes(ISession session, IObjectHandle handle, params CKA[] types) =>
        session.GetAttributeValue(handle, [.. types]).Select(a => a.GetValueAsByteArray() ?? []).ToArray();

    /// <summary>
    /// CKA_EC_POINT is the DER OCTET STRING of the uncompressed point (PKCS#11 v2.40 2.3.3); some modules give the raw
    /// point. Returns 04 || X || Y.
    /// </summary>
    private static byte[] DecodeEcPoint(byte[] value)
    {
        if (value.Length > 0 && value[0] == 0x04 && value.Length % 2 == 1 && value.Length is 65 or 97)
        {
            return value;
        }
        return new AsnReader(value, AsnEncodingRules.DER).ReadOctetString();
    }

    private static byte[] EncodeSerialNumber(ReadOnlySpan<byte> bigEndian)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.WriteIntegerUnsigned(bigEndian);
        return writer.Encode();
    }

    private static ECParameters PublicParameters(ECDsa? publicKey, string name)
    {
        using var key = publicKey ?? throw new CryptographicException($"The certificate of CA '{name}' has no EC public key, but its private key is EC.");
        return key.ExportParameters(false);
    }

    private static RSAParameters PublicParameters(RSA? publicKey, string name)
    {
        using var key = publicKey ?? throw new CryptographicException($"The certificate of CA '{name}' has no RSA public key, but its private key is RSA.");
        return key.ExportParameters(false);
    }

    /// <summary>Signs a random hash in the token and verifies it with the public key taken from the certificate.</summary>
    private static bool SignsForCertificate(AsymmetricAlgorithm key)
    {
        var hash = SHA256.HashData(RandomNumberGenerator.GetBytes(32));
        return key switch
        {
            Pkcs11ECDsa ec => ec.VerifyHash(hash, ec.SignHash(hash)),
            Pkcs11Rsa rsa => rsa.VerifyHash(hash, rsa.SignHash(hash, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            _ => false,
        };
    }
}
