using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;
using PkiService.Core.Authorities;
using PkiService.Core.Issuance;
using PkiService.Core.Primitives;
using PkiService.Core.Tests.TestSupport;

namespace PkiService.Core.Tests.Issuance;

public sealed class CertificateWriterTests(CaFixture ca) : IClassFixture<CaFixture>
{
    private static readonly PublicationPoints Points = PublicationPoints.ForIssuingCa("http://127.0.0.1:5080");

    public static TheoryData<string, string> Keys() => new()
    {
        { "RSA-2048", "client" }, { "RSA-2048", "server" }, { "P-256", "client" }, { "P-256", "server" },
        { "P-384", "client" }, { "P-384", "server" }, { "Ed25519", "client" }, { "Ed25519", "server" },
    };

    [Theory]
    [MemberData(nameof(Keys))]
    public void Write_EveryProfileKeyTypeAndSanKind_TbsIdenticalToBouncyCastleGenerator(string key, string profileName)
    {
        SubjectAltName[] sans =
        [
            new(SubjectAltNameKind.Dns, "svc.example.org"), new(SubjectAltNameKind.Dns, "*.svc.example.org"),
            new(SubjectAltNameKind.IpAddress, "10.1.2.3"), new(SubjectAltNameKind.IpAddress, "2001:db8::1"),
            new(SubjectAltNameKind.IpAddress, "::ffff:10.1.2.3"),
            new(SubjectAltNameKind.Email, "ops@example.org"), new(SubjectAltNameKind.Uri, "spiffe://example.org/workload"),
        ];
        var profile = CertificateProfile.All[profileName];
        foreach (var names in new[] { sans, [] })
        {
            if (profile.RequiresSubjectAltName && names.Length == 0)
            {
                continue;
            }
            AssertSameAsBouncyCastle(Csr(key, "svc.example.org"), new NameAuthorization("svc.example.org", names), profile);
        }
    }

    [Theory]
    [InlineData("plain name")]
    [InlineData("Ünïcödé 名前")]
    [InlineData("a,b+c=d\"e<f>g;h\\i")]
    [InlineData("#0c0141")]
    [InlineData("\\#not hex")]
    [InlineData(" padded ")]
    public void Write_CommonNamesBouncyCastleEscapesOrRewrites_SubjectBytesAndTextIdentical(string commonName)
    {
        AssertSameAsBouncyCastle(Csr("P-256", null), new NameAuthorization(commonName, []), CertificateProfile.Client);
    }

    [Theory]
    [InlineData("1950-01-01T00:00:00Z", "2049-12-31T23:59:59Z")]
    [InlineData("2049-12-31T23:00:00Z", "2050-01-01T00:00:00Z")]
    public void Write_ValidityAcross2050_UsesUtcTimeThenGeneralizedTimeAsBouncyCastle(string notBefore, string notAfter)
    {
        var request = CertificationRequest.FromPem(Csr("P-256", "svc"));
        var authority = new IssuingAuthority(ca.Issuing, Points, ca.Clock());
        var body = authority.Prepare(new IssuanceOrder(SerialNumber.NewRandom(), request, Grant("svc", [], CertificateProfile.Client), null)) with
        {
            NotBefore = DateTimeOffset.Parse(notBefore, System.Globalization.CultureInfo.InvariantCulture),
            NotAfter = DateTimeOffset.Parse(notAfter, System.Globalization.CultureInfo.InvariantCulture),
        };
        var expected = BouncyCastleCertificateReference.Issue(ca.Issuing, Points, body);
        Assert.Equal(Tbs(expected.Der), new CertificateWriter(ca.Issuing, Points).WriteTbs(body));
    }

    [Fact]
    public void Write_SerialsWithTopBitSetOrLeadingZeros_EncodeAsBouncyCastle()
    {
        var request = CertificationRequest.FromPem(Csr("P-256", "svc"));
        var authority = new IssuingAuthority(ca.Issuing, Points, ca.Clock());
        var writer = new CertificateWriter(ca.Issuing, Points);
        foreach (var hex in new[] { "80", "FF00112233445566778899AABBCCDDEEFF", "01", "7F", "0080" })
        {
            var body = authority.Prepare(new IssuanceOrder(SerialNumber.Parse(hex), request, Grant("svc", [], CertificateProfile.Client), null));
            Assert.Equal(Tbs(BouncyCastleCertificateReference.Issue(ca.Issuing, Points, body).Der), writer.WriteTbs(body));
        }
    }

    [Fact]
    public void Issue_SignatureVerifiesWithIssuingCaAndDotNetReadsIssuerAndSubject()
    {
        var request = CertificationRequest.FromPem(Csr("P-256", "svc.example.org"));
        var issued = new IssuingAuthority(ca.Issuing, Points, ca.Clock()).Issue(new IssuanceOrder(
            SerialNumber.NewRandom(), request, Grant("svc.example.org", [new(SubjectAltNameKind.Dns, "svc.example.org")], CertificateProfile.Server), null));

        using var certificate = X509CertificateLoader.LoadCertificate(issued.Der);
        using var issuer = X509CertificateLoader.LoadCertificate(ca.Issuing.Der);
        Assert.True(new Org.BouncyCastle.X509.X509Certificate(issued.Der).IsSignatureValid(ca.Issuing.Certificate.GetPublicKey()));
        Assert.Equal(issuer.SubjectName.RawData, certificate.IssuerName.RawData);
        Assert.Equal("CN=svc.example.org", certificate.Subject);
        Assert.Equal("CN=svc.example.org", issued.Subject);
    }

    private void AssertSameAsBouncyCastle(string csrPem, NameAuthorization names, CertificateProfile profile)
    {
        var request = CertificationRequest.FromPem(csrPem);
        var authority = new IssuingAuthority(ca.Issuing, Points, ca.Clock());
        var order = new IssuanceOrder(SerialNumber.NewRandom(), request, Grant(names.CommonName, names.SubjectAltNames, profile), null);
        var body = authority.Prepare(order);
        var expected = BouncyCastleCertificateReference.Issue(ca.Issuing, Points, body);
        var issued = authority.Issue(order);

        Assert.Equal(Tbs(expected.Der), Tbs(issued.Der));
        Assert.Equal(Tbs(expected.Der), new CertificateWriter(ca.Issuing, Points).WriteTbs(body));
        // The signature algorithm and the outer SEQUENCE around the (randomized) ECDSA signature.
        Assert.Equal(new Org.BouncyCastle.X509.X509Certificate(expected.Der).SigAlgOid, new Org.BouncyCastle.X509.X509Certificate(issued.Der).SigAlgOid);
        Assert.True(new Org.BouncyCastle.X509.X509Certificate(issued.Der).IsSignatureValid(ca.Issuing.Certificate.GetPublicKey()));
        Assert.Equal(expected.Subject, issued.Subject);
        Assert.Equal(expected with { Der = issued.Der, SubjectAltNames = issued.SubjectAltNames }, issued);
    }

    private static IssuanceGrant Grant(string commonName, IReadOnlyList<SubjectAltName> sans, CertificateProfile profile) =>
        IssuanceGrant.ForService("test", new NameAuthorization(commonName, sans), profile);

    private static byte[] Tbs(byte[] der) => new Org.BouncyCastle.X509.X509Certificate(der).GetTbsCertificate();

    private static string Csr(string key, string? commonName)
    {
        var subject = commonName is null ? "" : $"CN={commonName}";
        switch (key)
        {
            case "RSA-2048":
                using (var rsa = RSA.Create(2048))
                {
                    return new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSigningRequestPem();
                }
            case "P-256" or "P-384":
                using (var ec = ECDsa.Create(key == "P-256" ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP384))
                {
                    return new CertificateRequest(subject, ec, key == "P-256" ? HashAlgorithmName.SHA256 : HashAlgorithmName.SHA384).CreateSigningRequestPem();
                }
            default:
                var generator = new Ed25519KeyPairGenerator();
                generator.Init(new Ed25519KeyGenerationParameters(new SecureRandom()));
                var pair = generator.GenerateKeyPair();
                var request = new Pkcs10CertificationRequest("Ed25519", new Org.BouncyCastle.Asn1.X509.X509Name(subject), pair.Public, null, pair.Private);
                return PemEncoding.WriteString("CERTIFICATE REQUEST", request.GetEncoded());
        }
    }
}
