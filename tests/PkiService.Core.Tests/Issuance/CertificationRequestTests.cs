using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PkiService.Core.Errors;
using PkiService.Core.Issuance;
using PkiService.Core.Primitives;

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
}
