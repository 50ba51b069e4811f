using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PkiService.Api.Tests.Support;
using PkiService.Api.Issuance;

namespace PkiService.Api.Tests.Features.Certificates;

public sealed class CertificateQueryTests : IDisposable
{
    private readonly AdjustableTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly PkiApiFactory _factory;

    public CertificateQueryTests() => _factory = new PkiApiFactory(timeProvider: _clock);

    public void Dispose() => _factory.Dispose();

    [Fact]
    public async Task List_ByStatusAndExpiringWithin_FiltersAsOfNow()
    {
        var shortLived = await EnrollAsync("short", "P3D");
        var longLived = await EnrollAsync("long", "P60D");
        using var admin = _factory.CreateAdminClient();

        Assert.Equal([shortLived], await SerialsAsync(admin, "?expiringWithin=P7D"));
        Assert.Equal(2, (await SerialsAsync(admin, "?status=active")).Count);

        _clock.Advance(TimeSpan.FromDays(4));

        Assert.Equal([shortLived], await SerialsAsync(admin, "?status=expired"));
        Assert.Equal([longLived], await SerialsAsync(admin, "?status=active"));
        Assert.Empty(await SerialsAsync(admin, "?status=revoked"));
        var record = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/certificates/{shortLived}");
        Assert.Equal("expired", record.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Get_SerialInAnyCaseWithColons_FindsCertificate()
    {
        var serial = await EnrollAsync("colons", null);
        var typed = string.Join(':', serial.ToLowerInvariant().Chunk(2).Select(c => new string(c)));
        using var admin = _factory.CreateAdminClient();

        var record = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/certificates/{typed}");

        Assert.Equal(serial, record.GetProperty("serialNumber").GetString());
        Assert.Equal("client", record.GetProperty("profile").GetString());
        Assert.StartsWith("-----BEGIN CERTIFICATE-----", record.GetProperty("certificate").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/v1/certificates/0123456789ABCDEF", HttpStatusCode.NotFound)]
    [InlineData("/api/v1/certificates/not-hex", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/certificates?status=lost", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/certificates?pageSize=5000", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/certificates?page=0", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/certificates?expiringWithin=soon", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/certificates?page=abc", HttpStatusCode.BadRequest)]
    public async Task Query_BadOrUnknown_ReturnsProblem(string path, HttpStatusCode expected)
    {
        using var admin = _factory.CreateAdminClient();

        var response = await admin.GetAsync(path);

        await ProblemAssert.IsProblemAsync(response, expected);
    }

    [Fact]
    public async Task List_WithoutApiKey_Returns401()
    {
        using var client = _factory.CreateClient();

        await ProblemAssert.IsProblemAsync(await client.GetAsync("/api/v1/certificates"), HttpStatusCode.Unauthorized);
    }

    private async Task<string> EnrollAsync(string commonName, string? validity)
    {
        var token = await _factory.CreateTokenAsync(commonName);
        var response = await _factory.EnrollAsync(token, Csrs.P256(commonName), validity);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!.SerialNumber;
    }

    private static async Task<List<string>> SerialsAsync(HttpClient admin, string query)
    {
        var json = await admin.GetFromJsonAsync<JsonElement>("/api/v1/certificates" + query);
        return json.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("serialNumber").GetString()!).ToList();
    }
}
