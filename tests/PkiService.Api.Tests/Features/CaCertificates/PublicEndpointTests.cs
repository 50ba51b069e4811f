using System.Net;
using System.Security.Cryptography.X509Certificates;
using PkiService.Api.Tests.Support;

namespace PkiService.Api.Tests.Features.CaCertificates;

public sealed class PublicEndpointTests : IClassFixture<PublicEndpointTests.Host>
{
    public sealed class Host : IDisposable
    {
        public PkiApiFactory Factory { get; } = new();

        public void Dispose() => Factory.Dispose();
    }

    private readonly HttpClient _client;

    public PublicEndpointTests(Host host) => _client = host.Factory.CreateClient();

    [Fact]
    public async Task CaCrt_IsDerIssuingCaWithPkixCertType()
    {
        var response = await _client.GetAsync("/pki/ca.crt");

        Assert.Equal("application/pkix-cert", response.Content.Headers.ContentType?.MediaType);
        using var ca = X509CertificateLoader.LoadCertificate(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("CN=PkiService Issuing CA, O=PkiService", ca.Subject);
        var basic = ca.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.True(basic.Critical && basic.CertificateAuthority && basic.HasPathLengthConstraint && basic.PathLengthConstraint == 0);
        Assert.Equal(256, ca.GetECDsaPublicKey()!.KeySize);
    }

    [Fact]
    public async Task ChainPem_IsIssuingThenSelfSignedRoot()
    {
        var chain = new X509Certificate2Collection();
        chain.ImportFromPem(await _client.GetStringAsync("/pki/chain.pem"));
        var root = X509Certificate2.CreateFromPem(await _client.GetStringAsync("/pki/root.pem"));

        Assert.Equal(2, chain.Count);
        Assert.Equal(chain[0].Issuer, chain[1].Subject);
        Assert.Equal(root.Thumbprint, chain[1].Thumbprint);
        Assert.Equal(root.Subject, root.Issuer);
        Assert.Equal(384, root.GetECDsaPublicKey()!.KeySize);
        Assert.Equal(256, chain[0].GetECDsaPublicKey()!.KeySize);
        var rootUsage = root.Extensions.OfType<X509KeyUsageExtension>().Single();
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, rootUsage.KeyUsages);
        Assert.InRange((root.NotAfter - root.NotBefore).TotalDays, 3650, 3654);
        Assert.InRange((chain[0].NotAfter - chain[0].NotBefore).TotalDays, 1825, 1827);
    }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task Health_WhenStarted_Returns200(string path)
    {
        var response = await _client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task UnknownPath_Returns404Problem()
    {
        await ProblemAssert.IsProblemAsync(await _client.GetAsync("/no/such/thing"), HttpStatusCode.NotFound);
    }
}
