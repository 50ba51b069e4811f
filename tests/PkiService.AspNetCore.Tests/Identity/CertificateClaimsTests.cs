using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PkiService.AspNetCore.Identity;

namespace PkiService.AspNetCore.Tests.Identity;

public sealed class CertificateClaimsTests
{
    [Fact]
    public void From_CertificateWithEverySanType_GivesOneClaimPerName()
    {
        using var certificate = Create("CN=worker-1, O=Example", sans =>
        {
            sans.AddDnsName("worker-1.example.org");
            sans.AddDnsName("worker.example.org");
            sans.AddUri(new Uri("spiffe://example.org/ns/prod/sa/worker"));
            sans.AddUri(new Uri("https://example.org/worker"));
            sans.AddIpAddress(IPAddress.Parse("10.1.2.3"));
            sans.AddIpAddress(IPAddress.Parse("fd00::1"));
            sans.AddEmailAddress("ops@example.org");
        }, serial: [0x00, 0x8F, 0x01], "1.3.6.1.5.5.7.3.2");

        var claims = ClientCertificateInfo.Of(certificate).Claims.Select(c => (c.Type, c.Value)).ToList();

        Assert.Equal(
        [
            ("cn", "worker-1"),
            ("dns", "worker-1.example.org"),
            ("dns", "worker.example.org"),
            ("uri", "spiffe://example.org/ns/prod/sa/worker"),
            ("spiffe_id", "spiffe://example.org/ns/prod/sa/worker"),
            ("uri", "https://example.org/worker"),
            ("ip", "10.1.2.3"),
            ("ip", "fd00::1"),
            ("email", "ops@example.org"),
            ("serial", "8F01"),
            ("issuer", "CN=Test Issuing CA"),
            ("not_after", certificate.NotAfter.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture)),
            ("profile", "client"),
        ], claims);
    }

    [Fact]
    public void From_ServerAuthOnly_ProfileServerAndNoSpiffeIdForOtherUris()
    {
        using var certificate = Create("CN=api.example.org", sans => sans.AddUri(new Uri("urn:example:api")), serial: [0x42], "1.3.6.1.5.5.7.3.1");

        var claims = ClientCertificateInfo.Of(certificate).Claims;

        Assert.Equal(["server"], claims.Where(c => c.Type == PkiClaimTypes.Profile).Select(c => c.Value));
        Assert.DoesNotContain(claims, c => c.Type == PkiClaimTypes.SpiffeId);
        Assert.Equal("42", claims.Single(c => c.Type == PkiClaimTypes.SerialNumber).Value);
    }

    [Theory]
    [InlineData("spiffe://example.org/workload", true)]
    [InlineData("spiffe://example.org", true)]
    [InlineData("spiffe://example.org:8443/workload", false)]
    [InlineData("spiffe://example.org/workload?x=1", false)]
    [InlineData("spiffe://example.org/workload#f", false)]
    [InlineData("https://example.org/workload", false)]
    public void IsSpiffeId_FollowsTheSpiffeIdRules(string uri, bool expected) =>
        Assert.Equal(expected, CertificateClaims.IsSpiffeId(uri));

    [Theory]
    [InlineData("00ab", "AB")]
    [InlineData("0A1B", "0A1B")]
    [InlineData("a1b", "0A1B")]
    [InlineData("xyz", null)]
    public void CanonicalSerial_IsTheServiceForm(string hex, string? expected) =>
        Assert.Equal(expected, ClientCertificateInfo.CanonicalSerial(hex));

    private static X509Certificate2 Create(string subject, Action<SubjectAlternativeNameBuilder> sans, byte[] serial, string eku)
    {
        using var issuerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var issuerRequest = new CertificateRequest("CN=Test Issuing CA", issuerKey, HashAlgorithmName.SHA256);
        issuerRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var issuer = issuerRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        var builder = new SubjectAlternativeNameBuilder();
        sans(builder);
        request.CertificateExtensions.Add(builder.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(eku)], false));
        return request.Create(issuer, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(5), serial);
    }
}
