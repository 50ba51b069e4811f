using System.Net.Http.Json;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PkiService.Api.Tests.Support;

namespace PkiService.Api.Tests.Features.RootCrl;

/// <summary>
/// Issue 14, offline root: a service whose issuing CA sits under an external root with two intermediates holds no root
/// key, serves every certificate up to the root, and serves the root CRL an admin uploads once it verifies.
/// </summary>
public sealed class RootCrlEndpointTests : IDisposable
{
    private readonly string _dataDirectory = TempDirectory.Create();
    private readonly ExternalRoot _root;
    private readonly PkiApiFactory _factory;

    public RootCrlEndpointTests()
    {
        _root = new ExternalRoot(_dataDirectory, intermediates: 2);
        _factory = new PkiApiFactory(dataDirectory: _dataDirectory);
    }

    public void Dispose()
    {
        _factory.Dispose();
        _root.Dispose();
    }

    [Fact]
    public async Task Enroll_ExternalRootWithTwoIntermediates_ChainCarriesEveryCertificateAndVerifiesToTheRoot()
    {
        using var client = _factory.CreateClient();
        var token = await _factory.CreateTokenAsync("client-1", ["spiffe://example.org/client-1"]);
        var enrolled = await (await _factory.EnrollAsync(token, Csrs.P256("client-1", "spiffe://example.org/client-1"))).Content
            .ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>();

        var chain = new X509Certificate2Collection();
        chain.ImportFromPem(await client.GetStringAsync("/pki/chain.pem"));
        Assert.Equal([_root.IssuingDer, _root.Intermediates[0].RawData, _root.Intermediates[1].RawData, _root.Root.RawData],
            chain.Select(c => c.RawData).ToArray());
        Assert.Equal(await client.GetStringAsync("/pki/chain.pem"), enrolled!.Chain);
        Assert.Equal(_root.Root.RawData, await client.GetByteArrayAsync("/pki/root.crt"));
        Assert.False(File.Exists(Path.Combine(_dataDirectory, "root-ca.key")));

        Assert.Equal(5, ExternalRoot.AssertChainsTo(_root.Root, enrolled.Certificate, enrolled.Chain));
    }

    [Fact]
    public async Task EstCacertsAndMtlsListener_ExternalRootWithTwoIntermediates_CarryEveryCertificateUpToTheRoot()
    {
        var dataDirectory = TempDirectory.Create();
        using var root = new ExternalRoot(dataDirectory, intermediates: 2);
        using var factory = new PkiApiFactory(dataDirectory: dataDirectory, mtlsListener: true);
        byte[][] expected = [root.IssuingDer, root.Intermediates[0].RawData, root.Intermediates[1].RawData, root.Root.RawData];

        using var client = factory.CreateMtlsClient(null);
        using var cacerts = await client.GetAsync("/.well-known/est/cacerts");
        Assert.Equal(HttpStatusCode.OK, cacerts.StatusCode);
        var served = await PkiService.Api.Tests.Features.Est.EstEndpointTests.CertsOnlyAsync(cacerts);
        Assert.Equal(expected.Select(Convert.ToHexString).Order(), served.Select(c => Convert.ToHexString(c.RawData)).Order());

        // The listener's handshake sends its own certificate and every CA certificate between it and the root; the root
        // itself is left out (RFC 8446 4.4.2: a trust anchor the client must hold already may be omitted), as .NET does.
        var sent = new List<byte[]>();
        var handler = new SocketsHttpHandler
        {
            SslOptions =
            {
                RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
                {
                    sent.AddRange(chain!.ChainPolicy.ExtraStore.Select(c => c.RawData));
                    return true;
                },
            },
        };
        using (var raw = new HttpClient(handler) { BaseAddress = factory.MtlsAddress })
        {
            using var response = await raw.GetAsync("/");
        }
        Assert.All(expected[..^1], der => Assert.Contains(sent, s => s.AsSpan().SequenceEqual(der)));
        Assert.DoesNotContain(sent, s => s.AsSpan().SequenceEqual(root.Root.RawData));
    }

    [Fact]
    public async Task PutRootCrl_SignedByTheRootAsPem_IsServedInRootCrlAndBundleAndReadinessClears()
    {
        using var client = _factory.CreateClient();
        Assert.Contains("root-crl: no root CRL uploaded", await client.GetStringAsync("/health/ready"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/pki/root.crl")).StatusCode);
        var crl = ExternalRoot.Crl(_root.Root, 7, DateTimeOffset.UtcNow.AddDays(30));

        using var response = await PutAsync(PemEncoding.WriteString("X509 CRL", crl), "application/x-pem-file");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(crl, await client.GetByteArrayAsync("/pki/root.crl"));
        Assert.Contains(PemEncoding.WriteString("X509 CRL", crl), await client.GetStringAsync("/pki/crl-bundle.pem"), StringComparison.Ordinal);
        Assert.DoesNotContain("root-crl", await client.GetStringAsync("/health/ready"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PutRootCrl_SignedByAnotherKeyUnderTheRootsName_Returns400AndChangesNothing()
    {
        using var client = _factory.CreateClient();
        using (var first = await PutAsync(ExternalRoot.Crl(_root.Root, 7, DateTimeOffset.UtcNow.AddDays(30)), "application/pkix-crl"))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }
        var served = await client.GetByteArrayAsync("/pki/root.crl");
        using var impostor = ExternalRoot.SelfSigned("CN=External Root, O=Example", pathLength: null);

        using var response = await PutAsync(ExternalRoot.Crl(impostor, 8, DateTimeOffset.UtcNow.AddDays(30)), "application/pkix-crl");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("not a complete CRL signed by the root", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(served, await client.GetByteArrayAsync("/pki/root.crl"));
    }

    [Fact]
    public async Task PutRootCrl_WithoutAdminKey_Returns401()
    {
        using var client = _factory.CreateClient();
        using var content = new ByteArrayContent(ExternalRoot.Crl(_root.Root, 7, DateTimeOffset.UtcNow.AddDays(30)));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/pkix-crl");

        using var response = await client.PutAsync("/api/v1/root-crl", content);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/pki/root.crl")).StatusCode);
    }

    private Task<HttpResponseMessage> PutAsync(string pem, string contentType) => PutAsync(System.Text.Encoding.ASCII.GetBytes(pem), contentType);

    private async Task<HttpResponseMessage> PutAsync(byte[] body, string contentType)
    {
        using var admin = _factory.CreateAdminClient();
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return await admin.PutAsync("/api/v1/root-crl", content);
    }
}
