using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PkiService.Core.Errors;
using PkiService.Core.Issuance;
using PkiService.Core.Primitives;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using PkiService.Tests.Shared;

namespace PkiService.Core.Tests.Issuance;

public sealed class CertificationRequestTests
{
    [Fact]
    public void FromPem_P256WithSans_ReadsKeyCnAndSans()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=device-1, O=Ignored", key, HashAlgorithmName.SHA256);
        var sans = new SubjectAlternativeNameBuilder();
        sans.AddUri(new Uri("spiffe://example.org/device-1"));
        sans.AddDnsName("device-1.example.org");
        sans.AddIpAddress(System.Net.IPAddress.Parse("10.0.0.7"));
        request.CertificateExtensions.Add(sans.Build());

        var parsed = CertificationRequest.FromPem(request.CreateSigningRequestPem());

        Assert.Equal("ECDSA P-256", parsed.KeyDescription);
        Assert.Equal("device-1", parsed.CommonName);
        Assert.Equal(
            [SubjectAltName.Classify("spiffe://example.org/device-1"), SubjectAltName.Classify("device-1.example.org"), SubjectAltName.Classify("10.0.0.7")],
            parsed.SubjectAltNames);
    }

    [Theory]
    [InlineData(2048, "RSA-2048")]
    [InlineData(3072, "RSA-3072")]
    public void FromPem_AcceptedRsaSizes_Parse(int bits, string description)
    {
        using var key = RSA.Create(bits);
        var pem = new CertificateRequest("CN=r", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSigningRequestPem();

        Assert.Equal(description, CertificationRequest.FromPem(pem).KeyDescription);
    }

    [Fact]
    public void FromPem_Rsa1024_IsRejectedNamingTheSize()
    {
        using var key = RSA.Create(1024);
        var pem = new CertificateRequest("CN=r", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSigningRequestPem();

        var error = Assert.Throws<CsrRejectedException>(() => CertificationRequest.FromPem(pem));
        Assert.StartsWith("RSA-1024 keys are not accepted", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromPem_P521_IsRejectedNamingTheCurve()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP521);
        var pem = new CertificateRequest("CN=e", key, HashAlgorithmName.SHA512).CreateSigningRequestPem();

        var error = Assert.Throws<CsrRejectedException>(() => CertificationRequest.FromPem(pem));
        Assert.Contains("P-521", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromDer_SignatureByAnotherKey_IsRejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var der = new CertificateRequest("CN=t", key, HashAlgorithmName.SHA256).CreateSigningRequest();
        der[^3] ^= 0x40;

        var error = Assert.Throws<CsrRejectedException>(() => CertificationRequest.FromDer(der));
        Assert.Contains("signature does not verify", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not pem at all")]
    [InlineData("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")]
    [InlineData("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----")]
    public void FromPem_NotACsr_IsRejected(string pem)
    {
        Assert.Throws<CsrRejectedException>(() => CertificationRequest.FromPem(pem));
    }

    [Fact]
    public void FromDer_EveryTruncation_IsRejectedNeverThrowsAnythingElse()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var der = new CertificateRequest("CN=t", key, HashAlgorithmName.SHA256).CreateSigningRequest();

        for (var length = 0; length < der.Length; length++)
        {
            Assert.Throws<CsrRejectedException>(() => CertificationRequest.FromDer(der[..length]));
        }
    }

    /// <summary>Malformed extension requests: each must be a <see cref="CsrRejectedException"/> naming what is wrong, never another exception.</summary>
    public static TheoryData<string, byte[], string> MalformedExtensionRequests => new()
    {
        { "8-octet IP", RawCsrs.WithSubjectAltNames("m", RawCsrs.GeneralName(GeneralName.IPAddress, new byte[8])), "iPAddress of 8 octets" },
        { "5-octet IP", RawCsrs.WithSubjectAltNames("m", RawCsrs.GeneralName(GeneralName.IPAddress, new byte[5])), "iPAddress of 5 octets" },
        { "empty IP", RawCsrs.WithSubjectAltNames("m", RawCsrs.GeneralName(GeneralName.IPAddress, [])), "iPAddress of 0 octets" },
        { "UTF-8 dNSName", RawCsrs.WithSubjectAltNames("m", RawCsrs.GeneralName(GeneralName.DnsName, System.Text.Encoding.UTF8.GetBytes("bücher.example"))), "dNSName 'b\\xC3\\xBCcher.example' must be printable ASCII" },
        { "dNSName with a control character", RawCsrs.WithSubjectAltNames("m", RawCsrs.GeneralName(GeneralName.DnsName, "a\u0001.example")), "dNSName 'a\\x01.example' must be printable ASCII" },
        { "dNSName with a space", RawCsrs.WithSubjectAltNames("m", RawCsrs.GeneralName(GeneralName.DnsName, "a b.example")), "dNSName 'a b.example' must be printable ASCII" },
        { "empty dNSName", RawCsrs.WithSubjectAltNames("m", RawCsrs.GeneralName(GeneralName.DnsName, "")), "dNSName is empty" },
        { "explicitly tagged dNSName", RawCsrs.WithSubjectAltNames("m", new DerTaggedObject(true, GeneralName.DnsName, new DerIA5String("a.example"))), "subjectAltName entry 1 is not a valid GeneralName" },
        { "relative URI", RawCsrs.WithSubjectAltNames("m", RawCsrs.GeneralName(GeneralName.UniformResourceIdentifier, "/just/a/path")), "URI '/just/a/path' is not an absolute URI" },
        { "URI without scheme", RawCsrs.WithSubjectAltNames("m", RawCsrs.GeneralName(GeneralName.UniformResourceIdentifier, "example.org")), "URI 'example.org' is not an absolute URI" },
        { "URI with a space", RawCsrs.WithSubjectAltNames("m", RawCsrs.GeneralName(GeneralName.UniformResourceIdentifier, "spiffe://example.org/a b")), "URI 'spiffe://example.org/a b' must be printable ASCII" },
        { "URI with only a scheme", RawCsrs.WithSubjectAltNames("m", RawCsrs.GeneralName(GeneralName.UniformResourceIdentifier, "spiffe:")), "URI 'spiffe:' is not an absolute URI" },
        { "e-mail without @", RawCsrs.WithSubjectAltNames("m", RawCsrs.GeneralName(GeneralName.Rfc822Name, "ops.example.org")), "rfc822Name 'ops.example.org' is not an e-mail address" },
        { "UTF-8 e-mail", RawCsrs.WithSubjectAltNames("m", RawCsrs.GeneralName(GeneralName.Rfc822Name, System.Text.Encoding.UTF8.GetBytes("jörg@example.org"))), "rfc822Name 'j\\xC3\\xB6rg@example.org' must be printable ASCII" },
        { "unknown GeneralName tag", RawCsrs.WithSubjectAltNames("m", RawCsrs.GeneralName(9, "x")), "subjectAltName entry 1 is not a valid GeneralName" },
        { "second entry broken", RawCsrs.WithSubjectAltNames("m", RawCsrs.GeneralName(GeneralName.DnsName, "a.example"), RawCsrs.GeneralName(GeneralName.IPAddress, new byte[3])), "iPAddress of 3 octets" },
        { "no names at all", RawCsrs.WithSubjectAltNames("m"), "subjectAltName extension has no names" },
        { "not a GeneralNames", RawCsrs.WithExtensions("m", RawCsrs.Extension(X509Extensions.SubjectAlternativeName, DerInteger.ValueOf(7).GetEncoded())), "subjectAltName extension is not a GeneralNames" },
        { "value not DER", RawCsrs.WithExtensions("m", RawCsrs.Extension(X509Extensions.SubjectAlternativeName, [0x30, 0x05, 0x82])), "subjectAltName extension is not a GeneralNames" },
        { "two subjectAltName extensions", RawCsrs.WithExtensions("m",
            RawCsrs.SubjectAltNameExtension(RawCsrs.GeneralName(GeneralName.DnsName, "a.example")),
            RawCsrs.SubjectAltNameExtension(RawCsrs.GeneralName(GeneralName.DnsName, "b.example"))), "requests extension 2.5.29.17 (subjectAltName) more than once" },
        { "extension not a SEQUENCE", RawCsrs.WithExtensions("m", DerInteger.ValueOf(1)), "extensionRequest attribute is malformed" },
        { "extensionRequest not Extensions", RawCsrs.WithAttributes("m", new DerSequence(Org.BouncyCastle.Asn1.Pkcs.PkcsObjectIdentifiers.Pkcs9AtExtensionRequest, new DerSet(DerInteger.ValueOf(1)))), "extensionRequest attribute is malformed" },
        { "extensionRequest with no value", RawCsrs.WithAttributes("m", new DerSequence(Org.BouncyCastle.Asn1.Pkcs.PkcsObjectIdentifiers.Pkcs9AtExtensionRequest, new DerSet())), "extensionRequest attribute must have exactly one value" },
        { "two extensionRequest attributes", RawCsrs.WithAttributes("m",
            RawCsrs.ExtensionRequest(RawCsrs.SubjectAltNameExtension(RawCsrs.GeneralName(GeneralName.DnsName, "a.example"))),
            RawCsrs.ExtensionRequest(RawCsrs.SubjectAltNameExtension(RawCsrs.GeneralName(GeneralName.DnsName, "b.example")))), "more than one extensionRequest attribute" },
    };

    [Theory]
    [MemberData(nameof(MalformedExtensionRequests))]
    public void FromDer_MalformedExtensionRequest_IsRejectedNamingTheProblem(string scenario, byte[] der, string expected)
    {
        var error = Assert.Throws<CsrRejectedException>(() => CertificationRequest.FromDer(der));
        Assert.True(error.Message.Contains(expected, StringComparison.Ordinal), $"{scenario}: {error.Message}");
    }

    [Fact]
    public void FromDer_WellFormedHandBuiltNames_AreRead()
    {
        var der = RawCsrs.WithSubjectAltNames("m",
            RawCsrs.GeneralName(GeneralName.DnsName, "A.Example"),
            RawCsrs.GeneralName(GeneralName.IPAddress, [10, 0, 0, 7]),
            RawCsrs.GeneralName(GeneralName.IPAddress, System.Net.IPAddress.Parse("2001:db8::1").GetAddressBytes()),
            RawCsrs.GeneralName(GeneralName.UniformResourceIdentifier, "spiffe://example.org/m"),
            RawCsrs.GeneralName(GeneralName.Rfc822Name, "ops@example.org"));

        var parsed = CertificationRequest.FromDer(der);

        Assert.Equal(
            ["a.example", "10.0.0.7", "2001:db8::1", "spiffe://example.org/m", "ops@example.org"],
            parsed.SubjectAltNames.Select(s => s.Value));
    }

    [Fact]
    public void HasSameKeyAs_SameKeyDifferentlyEncoded_IsTrue_AnotherKeyIsFalse()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var ecRequest = CertificationRequest.FromDer(new CertificateRequest("CN=k", ec, HashAlgorithmName.SHA256).CreateSigningRequest());
        var point = (Org.BouncyCastle.Crypto.Parameters.ECPublicKeyParameters)ecRequest.PublicKey;
        var compressed = new SubjectPublicKeyInfo(ecRequest.PublicKeyInfo.Algorithm, point.Q.GetEncoded(compressed: true));
        using var rsa = RSA.Create(2048);
        var rsaRequest = CertificationRequest.FromDer(new CertificateRequest("CN=k", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSigningRequest());
        var asPssKey = new SubjectPublicKeyInfo(
            new AlgorithmIdentifier(Org.BouncyCastle.Asn1.Pkcs.PkcsObjectIdentifiers.IdRsassaPss), rsaRequest.PublicKeyInfo.ParsePublicKey());
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var otherInfo = SubjectPublicKeyInfo.GetInstance(other.ExportSubjectPublicKeyInfo());

        Assert.True(ecRequest.HasSameKeyAs(ecRequest.PublicKeyInfo));
        Assert.True(ecRequest.HasSameKeyAs(compressed));
        Assert.True(rsaRequest.HasSameKeyAs(asPssKey));
        Assert.False(ecRequest.HasSameKeyAs(otherInfo));
        Assert.False(ecRequest.HasSameKeyAs(rsaRequest.PublicKeyInfo));
    }
}
