using System.Collections.Concurrent;
using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using PkiService.Core.Authorities;
using PkiService.Core.Primitives;

namespace PkiService.Core.Issuance;

/// <summary>
/// Writes an end-entity certificate (RFC 5280 4.1) straight to DER with <see cref="AsnWriter"/> and signs it with the
/// issuing CA. Everything that is the same for every certificate of one CA is encoded once here: the signature
/// AlgorithmIdentifier, the issuer Name copied from the CA certificate (RFC 5280 4.1.2.4), basicConstraints, both key
/// usages, the AKI and the CDP/AIA/Freshest CRL extensions; per certificate only the serial, validity, subject, key, SKI
/// and SANs are written. Thread-safe: nothing changes after construction.
/// </summary>
/// <remarks>
/// The TBSCertificate matches what BouncyCastle's <c>X509V3CertificateGenerator</c> wrote for the same
/// <see cref="CertificateBody"/> (as <see cref="IssuingAuthority"/> did before issue 16) byte for byte; the test suite
/// keeps that generator as the reference. A subject or SAN value BouncyCastle would rewrite (a CN starting with '#' or
/// holding characters it escapes, a non-ASCII name) is encoded by BouncyCastle itself, so the bytes stay identical.
/// </remarks>
public sealed class CertificateWriter
{
    private static readonly Asn1Tag Explicit0 = new(TagClass.ContextSpecific, 0, isConstructed: true);
    private static readonly Asn1Tag Explicit3 = new(TagClass.ContextSpecific, 3, isConstructed: true);
    private const string CommonNameOid = "2.5.4.3";

    private readonly DotNetSignatureFactory _signer;
    private readonly byte[] _signatureAlgorithm;
    private readonly byte[] _issuerName;
    private readonly byte[] _basicConstraints;
    private readonly byte[] _digitalSignature;
    private readonly byte[] _digitalSignatureKeyEncipherment;
    private readonly byte[] _authorityKeyIdentifier;
    private readonly byte[][] _publicationPoints;
    private readonly ConcurrentDictionary<string, byte[]> _extendedKeyUsages = new(StringComparer.Ordinal);

    /// <param name="issuer">The issuing CA; it must hold its key.</param>
    /// <param name="publicationPoints">Where relying parties find its CRLs, OCSP and certificate.</param>
    public CertificateWriter(CertificateAuthority issuer, PublicationPoints publicationPoints)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(publicationPoints);
        _signer = issuer.SignatureFactory as DotNetSignatureFactory
            ?? throw new InvalidOperationException("The CA's signature factory cannot sign raw bytes.");
        _signatureAlgorithm = ((AlgorithmIdentifier)_signer.AlgorithmDetails).GetDerEncoded();
        _issuerName = issuer.SubjectDer;
        // RFC 5280 4.2.1.9: an end entity says CA:FALSE explicitly (an empty SEQUENCE, cA defaults to FALSE), critical.
        _basicConstraints = Extension(X509Extensions.BasicConstraints, true, new BasicConstraints(false));
        // RFC 5280 4.2.1.3: keyUsage, critical.
        _digitalSignature = Extension(X509Extensions.KeyUsage, true, new KeyUsage(KeyUsage.DigitalSignature));
        _digitalSignatureKeyEncipherment = Extension(X509Extensions.KeyUsage, true, new KeyUsage(KeyUsage.DigitalSignature | KeyUsage.KeyEncipherment));
        // RFC 5280 4.2.1.1: the CA's key identifier, non-critical.
        _authorityKeyIdentifier = Extension(X509Extensions.AuthorityKeyIdentifier, false, new AuthorityKeyIdentifier(issuer.SubjectKeyIdentifier));
        _publicationPoints = [.. publicationPoints.Extensions().Select(e => Extension(e.Oid, false, e.Value))];
    }

    /// <summary>Encodes the TBSCertificate of <paramref name="body"/> (RFC 5280 4.1.2).</summary>
    public byte[] WriteTbs(CertificateBody body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var writer = new AsnWriter(AsnEncodingRules.DER, 1024);
        using (writer.PushSequence())
        {
            using (writer.PushSequence(Explicit0))
            {
                writer.WriteInteger(2); // v3 (RFC 5280 4.1.2.1)
            }
            var serial = Convert.FromHexString(body.SerialNumber.Hex);
            var significant = serial.AsSpan().IndexOfAnyExcept((byte)0);
            writer.WriteIntegerUnsigned(significant < 0 ? [0] : serial.AsSpan(significant)); // RFC 5280 4.1.2.2: positive
            writer.WriteEncodedValue(_signatureAlgorithm);
            writer.WriteEncodedValue(_issuerName);
            using (writer.PushSequence())
            {
                WriteTime(writer, body.NotBefore);
                WriteTime(writer, body.NotAfter);
            }
            WriteSubject(writer, body.CommonName);
            var publicKeyInfo = body.PublicKeyInfo.GetDerEncoded();
            writer.WriteEncodedValue(publicKeyInfo);
            using (writer.PushSequence(Explicit3))
            using (writer.PushSequence())
            {
                writer.WriteEncodedValue(_basicConstraints);
                writer.WriteEncodedValue(body.KeyEncipherment ? _digitalSignatureKeyEncipherment : _digitalSignature);
                writer.WriteEncodedValue(_extendedKeyUsages.GetOrAdd(body.Profile.ExtendedKeyUsage.Id,
                    static (_, eku) => Extension(X509Extensions.ExtendedKeyUsage, false, new ExtendedKeyUsage(eku)), body.Profile.ExtendedKeyUsage));
                // RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value.
                using (writer.PushSequence())
                {
                    writer.WriteObjectIdentifier("2.5.29.14");
                    Span<byte> keyIdentifier = stackalloc byte[2 + SHA1.HashSizeInBytes];
                    keyIdentifier[0] = 0x04;
                    keyIdentifier[1] = SHA1.HashSizeInBytes;
                    SHA1.HashData(body.PublicKeyInfo.PublicKey.GetBytes(), keyIdentifier[2..]);
                    writer.WriteOctetString(keyIdentifier);
                }
                writer.WriteEncodedValue(_authorityKeyIdentifier);
                if (body.SubjectAltNames.Count > 0)
                {
                    // RFC 5280 4.2.1.6: non-critical because the subject DN is not empty.
                    using (writer.PushSequence())
                    {
                        writer.WriteObjectIdentifier("2.5.29.17");
                        writer.WriteOctetString(SubjectAltNames(body.SubjectAltNames));
                    }
                }
                foreach (var extension in _publicationPoints)
                {
                    writer.WriteEncodedValue(extension);
                }
            }
        }
        return writer.Encode();
    }

    /// <summary>Encodes and signs <paramref name="body"/>: the Certificate's DER (RFC 5280 4.1.1).</summary>
    public byte[] Write(CertificateBody body)
    {
        var tbs = WriteTbs(body);
        var signature = _signer.Sign(tbs);
        var writer = new AsnWriter(AsnEncodingRules.DER, tbs.Length + _signatureAlgorithm.Length + signature.Length + 16);
        using (writer.PushSequence())
        {
            writer.WriteEncodedValue(tbs);
            writer.WriteEncodedValue(_signatureAlgorithm);
            writer.WriteBitString(signature);
        }
        return writer.Encode();
    }

    /// <summary>
    /// The subject Name (RFC 5280 4.1.2.6) with the one CN as a UTF8String, as BouncyCastle's <c>X509Name</c> writes it;
    /// values it would read as hex ('#...') or unescape ('\...') go through it.
    /// </summary>
    private static void WriteSubject(AsnWriter writer, string commonName)
    {
        if (commonName.Length == 0 || commonName[0] is '#' or '\\')
        {
            writer.WriteEncodedValue(new X509Name([X509Name.CN], [commonName]).GetDerEncoded());
            return;
        }
        using (writer.PushSequence())
        using (writer.PushSetOf())
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(CommonNameOid);
            writer.WriteCharacterString(UniversalTagNumber.UTF8String, commonName);
        }
    }

    /// <summary>GeneralNames (RFC 5280 4.2.1.6); a name BouncyCastle would rewrite is encoded by BouncyCastle.</summary>
    private static byte[] SubjectAltNames(IReadOnlyList<SubjectAltName> names)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER, 256);
        using (writer.PushSequence())
        {
            foreach (var name in names)
            {
                var tag = name.Kind switch
                {
                    SubjectAltNameKind.Email => 1,
                    SubjectAltNameKind.Dns => 2,
                    SubjectAltNameKind.Uri => 6,
                    _ => 7,
                };
                if (tag == 7 && !name.Value.Contains('/', StringComparison.Ordinal) && !name.Value.Contains('%', StringComparison.Ordinal)
                    && IPAddress.TryParse(name.Value, out var address) && address.ToString() == name.Value)
                {
                    writer.WriteOctetString(address.GetAddressBytes(), new Asn1Tag(TagClass.ContextSpecific, 7));
                }
                else if (tag != 7 && System.Text.Ascii.IsValid(name.Value))
                {
                    writer.WriteCharacterString(UniversalTagNumber.IA5String, name.Value, new Asn1Tag(TagClass.ContextSpecific, tag));
                }
                else
                {
                    writer.WriteEncodedValue(name.ToGeneralName().GetDerEncoded());
                }
            }
        }
        return writer.Encode();
    }

    /// <summary>RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 (and before 1950), in whole seconds.</summary>
    private static void WriteTime(AsnWriter writer, DateTimeOffset time)
    {
        if (time.UtcDateTime.Year is >= 1950 and <= 2049)
        {
            writer.WriteUtcTime(time, 2049);
        }
        else
        {
            writer.WriteGeneralizedTime(time, omitFractionalSeconds: true);
        }
    }

    /// <summary>Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } (RFC 5280 4.1).</summary>
    private static byte[] Extension(DerObjectIdentifier oid, bool critical, Asn1Encodable value)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(oid.Id);
            if (critical)
            {
                writer.WriteBoolean(true);
            }
            writer.WriteOctetString(value.GetDerEncoded());
        }
        return writer.Encode();
    }
}
