using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;

namespace PkiService.Tests.Shared;

/// <summary>
/// Correctly signed P-256 CSRs whose attributes are built by hand with BouncyCastle, for the malformed extension
/// requests no ordinary tool writes (an 8-octet IP, a UTF-8 dNSName, two subjectAltName extensions...). Compiled into
/// the Core and API tests (linked source file).
/// </summary>
public static class RawCsrs
{
    /// <summary>A DER CSR for CN=<paramref name="commonName"/> with exactly these attributes.</summary>
    public static byte[] WithAttributes(string commonName, params Asn1Encodable[] attributes)
    {
        var generator = new ECKeyPairGenerator();
        generator.Init(new ECKeyGenerationParameters(SecObjectIdentifiers.SecP256r1, new SecureRandom()));
        var pair = generator.GenerateKeyPair();
        var request = new Pkcs10CertificationRequest(
            new Asn1SignatureFactory("SHA256WITHECDSA", pair.Private), new X509Name($"CN={commonName}"), pair.Public, new DerSet(attributes));
        return request.GetEncoded();
    }

    /// <summary>A DER CSR whose one extensionRequest attribute (RFC 2985 5.4.2) holds these extensions.</summary>
    public static byte[] WithExtensions(string commonName, params Asn1Encodable[] extensions) =>
        WithAttributes(commonName, ExtensionRequest(extensions));

    /// <summary>A DER CSR with one subjectAltName extension holding these (possibly malformed) GeneralName encodings.</summary>
    public static byte[] WithSubjectAltNames(string commonName, params Asn1Encodable[] generalNames) =>
        WithExtensions(commonName, SubjectAltNameExtension(generalNames));

    /// <summary>An extensionRequest attribute with one value, the Extensions SEQUENCE.</summary>
    public static Asn1Encodable ExtensionRequest(params Asn1Encodable[] extensions) =>
        new DerSequence(PkcsObjectIdentifiers.Pkcs9AtExtensionRequest, new DerSet(new DerSequence(extensions)));

    /// <summary>One Extension (RFC 5280 4.1): extnID and the DER of the value in an OCTET STRING.</summary>
    public static Asn1Encodable Extension(DerObjectIdentifier oid, byte[] value) => new DerSequence(oid, new DerOctetString(value));

    /// <summary>A subjectAltName extension whose GeneralNames SEQUENCE holds these elements.</summary>
    public static Asn1Encodable SubjectAltNameExtension(params Asn1Encodable[] generalNames) =>
        Extension(X509Extensions.SubjectAlternativeName, new DerSequence(generalNames).GetEncoded());

    /// <summary>A GeneralName with IMPLICIT tag <paramref name="tag"/> over these raw content octets.</summary>
    public static Asn1Encodable GeneralName(int tag, byte[] contents) => new DerTaggedObject(false, tag, new DerOctetString(contents));

    /// <summary>A GeneralName with IMPLICIT tag <paramref name="tag"/> over this ASCII text.</summary>
    public static Asn1Encodable GeneralName(int tag, string ascii) => new DerTaggedObject(false, tag, new DerIA5String(ascii));
}
