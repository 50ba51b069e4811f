using System.Net;
using System.Net.Http.Json;
using Org.BouncyCastle.Ocsp;
using PkiService.Api.Tests.Support;
using PkiService.Api.Issuance;

namespace PkiService.Api.Tests.Features.Ocsp;

public sealed class OcspEndpointTests : IClassFixture<OcspEndpointTests.Host>
{
    public sealed class Host : IDisposable
    {
        public PkiApiFactory Factory { get; } = new();

        public void Dispose() => Factory.Dispose();
    }

    private readonly PkiApiFactory _factory;

    public OcspEndpointTests(Host host) => _factory = host.Factory;

    [Fact]
    public async Task Get_SameAnswerAsPost_WithCacheValidatorsAnd304()
    {
        var serial = await EnrollAsync("get-form");
        using var client = _factory.CreateClient();
        var issuer = OcspClient.Parse(await client.GetByteArrayAsync("/pki/ca.crt"));
        var request = OcspClient.Request(issuer, serial, OcspClient.Sha256);

        var get = await client.GetAsync("/ocsp/" + Uri.EscapeDataString(Convert.ToBase64String(request)));

        Assert.Equal("application/ocsp-response", get.Content.Headers.ContentType?.MediaType);
        Assert.Equal("good", OcspClient.StatusOf(await get.Content.ReadAsByteArrayAsync()));
        Assert.InRange(get.Headers.CacheControl!.MaxAge!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));
        Assert.NotNull(get.Content.Headers.LastModified);
        Assert.NotNull(get.Headers.ETag);
        var post = await OcspClient.PostAsync(client, request);
        Assert.Equal(await get.Content.ReadAsByteArrayAsync(), await post.Content.ReadAsByteArrayAsync()); // one pre-built response

        using var conditional = new HttpRequestMessage(HttpMethod.Get, "/ocsp/" + Uri.EscapeDataString(Convert.ToBase64String(request)));
        conditional.Headers.IfNoneMatch.Add(get.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await client.SendAsync(conditional)).StatusCode);
    }

    [Fact]
    public async Task Post_NeverIssuedSerial_IsUnknown_AndAboutIssuingCaToRoot_IsGood()
    {
        using var client = _factory.CreateClient();
        var issuing = OcspClient.Parse(await client.GetByteArrayAsync("/pki/ca.crt"));
        var root = OcspClient.Parse(await client.GetByteArrayAsync("/pki/root.crt"));

        var unknown = await OcspClient.PostAsync(client, OcspClient.Request(issuing, "0FEDCBA9876543210FEDCBA987654321"));
        var caStatus = await OcspClient.PostAsync(client, OcspClient.Request(root, issuing.SerialNumber.ToString(16)));

        Assert.Equal("unknown", OcspClient.StatusOf(await unknown.Content.ReadAsByteArrayAsync()));
        Assert.Equal("good", OcspClient.StatusOf(await caStatus.Content.ReadAsByteArrayAsync()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA")]
    public async Task Post_Junk_GetsMalformedRequestNot500(string base64OrText)
    {
        using var client = _factory.CreateClient();
        var body = base64OrText.StartsWith("MII", StringComparison.Ordinal) ? Convert.FromBase64String(base64OrText) : System.Text.Encoding.ASCII.GetBytes(base64OrText);

        var response = await OcspClient.PostAsync(client, body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(OcspRespStatus.MalformedRequest, new OcspResp(await response.Content.ReadAsByteArrayAsync()).Status);
    }

    [Theory]
    [InlineData("/ocsp/not*base64!")]
    [InlineData("/ocsp/AAAA")]
    [InlineData("/ocsp/")]
    public async Task Get_NotBase64OrNotOcsp_GetsMalformedRequest(string path)
    {
        using var client = _factory.CreateClient();

        var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(OcspRespStatus.MalformedRequest, new OcspResp(await response.Content.ReadAsByteArrayAsync()).Status);
    }

    [Fact]
    public async Task Post_Over64KiB_Returns413Problem()
    {
        using var client = _factory.CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Post, "/ocsp") { Content = new ByteArrayContent(new byte[65 * 1024]) };
        request.Content.Headers.ContentType = new("application/ocsp-request");
        request.Headers.ExpectContinue = true; // refused before the body is sent, as curl does it

        var response = await client.SendAsync(request);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    private async Task<string> EnrollAsync(string commonName)
    {
        var token = await _factory.CreateTokenAsync(commonName);
        var response = await _factory.EnrollAsync(token, Csrs.P256(commonName));
        return (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!.SerialNumber;
    }
}
