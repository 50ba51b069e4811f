using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using PkiService.Api.Tests.Support;

namespace PkiService.Api.Tests.Features.ApiKeys;

/// <summary>An API key's name policy bounds the enrollment tokens it creates (issue #10 point 3).</summary>
public sealed class NamePolicyTests : IClassFixture<NamePolicyTests.Host>
{
    public sealed class Host : IDisposable
    {
        public PkiApiFactory Factory { get; } = new();

        public void Dispose() => Factory.Dispose();
    }

    private static readonly object TeamA = new
    {
        dnsSuffixes = new[] { ".team-a.example.org" },
        uriPrefixes = new[] { "spiffe://example.org/team-a/" },
        ipNetworks = new[] { "10.1.0.0/16" },
        commonNamePattern = "*.team-a.example.org",
        profiles = new[] { "client" },
        maxValidity = "P30D",
    };

    private readonly PkiApiFactory _factory;

    public NamePolicyTests(Host host) => _factory = host.Factory;

    [Fact]
    public async Task CreateKey_WithNamePolicy_IsStoredNormalizedAndListed()
    {
        using var admin = _factory.CreateAdminClient();
        var policy = new { dnsSuffixes = new[] { ".Bücher.example", "team-b.example.org" }, ipNetworks = new[] { "2001:DB8::/48" }, maxValidity = "PT720H" };

        var created = await admin.PostAsJsonAsync("/api/v1/api-keys", new { name = "team-b", role = "enroller", namePolicy = policy });

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        var listed = (await admin.GetFromJsonAsync<JsonElement>("/api/v1/api-keys")).EnumerateArray().Single(k => k.GetProperty("id").GetString() == id);
        var stored = listed.GetProperty("namePolicy");
        Assert.Equal([".xn--bcher-kva.example", "team-b.example.org"], stored.GetProperty("dnsSuffixes").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["2001:db8::/48"], stored.GetProperty("ipNetworks").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["client"], stored.GetProperty("profiles").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("P30D", stored.GetProperty("maxValidity").GetString());
    }

    [Theory]
    [InlineData("dnsSuffixes", "[\"bad example.org\"]", "bad example.org")]
    [InlineData("dnsSuffixes", "[\"*.example.org\"]", "*.example.org")]
    [InlineData("uriPrefixes", "[\"spiffe://example.org/team-a\"]", "spiffe://example.org/team-a")]
    [InlineData("ipNetworks", "[\"10.1.0.1/16\"]", "10.1.0.1/16")]
    [InlineData("ipNetworks", "[\"10.1.0.0/33\"]", "10.1.0.0/33")]
    [InlineData("commonNamePattern", "\"device-**\"", "device-**")]
    [InlineData("profiles", "[\"root\"]", "root")]
    [InlineData("maxValidity", "\"P1Y\"", "P1Y")]
    [InlineData("maxValidity", "\"P400D\"", "P400D")]
    public async Task CreateKey_BadNamePolicy_Returns400NamingTheEntry(string field, string value, string named)
    {
        using var admin = _factory.CreateAdminClient();
        var json = $"{{\"name\":\"bad\",\"role\":\"enroller\",\"namePolicy\":{{\"{field}\":{value}}}}}";

        var response = await admin.PostAsync("/api/v1/api-keys", new StringContent(json, Encoding.UTF8, "application/json"));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors").GetProperty($"namePolicy.{field}").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains(errors, e => e!.Contains(named, StringComparison.Ordinal));
    }

    public static TheoryData<string, object, string> OutsidePolicy => new()
    {
        { "CN outside pattern", new { commonName = "admin" }, "commonNamePattern" },
        { "DNS SAN outside suffix", new { commonName = "web.team-a.example.org", sans = new[] { "badexample.org" } }, "dnsSuffixes" },
        { "listener name", new { commonName = "web.team-a.example.org", sans = new[] { "localhost" } }, "dnsSuffixes" },
        { "wildcard wider than suffix", new { commonName = "web.team-a.example.org", sans = new[] { "*.example.org" } }, "dnsSuffixes" },
        { "URI outside prefix", new { commonName = "web.team-a.example.org", sans = new[] { "spiffe://example.org/team-b/web" } }, "uriPrefixes" },
        { "IP outside network", new { commonName = "web.team-a.example.org", sans = new[] { "127.0.0.1" } }, "ipNetworks" },
        { "server profile", new { commonName = "web.team-a.example.org", sans = new[] { "web.team-a.example.org" }, profile = "server" }, "profiles" },
        { "validity over policy", new { commonName = "web.team-a.example.org", maxValidity = "P31D" }, "maxValidity" },
    };

    [Theory]
    [MemberData(nameof(OutsidePolicy))]
    public async Task CreateToken_OutsideKeyPolicy_Returns403AndIsAudited(string scenario, object body, string rule)
    {
        using var enroller = await CreateKeyClientAsync("enroller", TeamA);
        using var admin = _factory.CreateAdminClient();
        var tokensBefore = (await admin.GetFromJsonAsync<JsonElement>("/api/v1/enrollment-tokens")).GetProperty("total").GetInt32();

        var response = await enroller.PostAsJsonAsync("/api/v1/enrollment-tokens", body);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden);
        var title = problem.GetProperty("title").GetString()!;
        Assert.Contains(rule, title, StringComparison.Ordinal);
        Assert.Contains("name policy", title, StringComparison.Ordinal);
        Assert.Equal(tokensBefore, (await admin.GetFromJsonAsync<JsonElement>("/api/v1/enrollment-tokens")).GetProperty("total").GetInt32());
        var audit = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit?action=token.create&pageSize=1");
        var row = audit.GetProperty("items")[0];
        Assert.Equal("failure", row.GetProperty("outcome").GetString());
        Assert.StartsWith("apikey:", row.GetProperty("actor").GetString(), StringComparison.Ordinal);
        Assert.Contains(rule, row.GetProperty("details").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("pki_ak_", row.GetProperty("details").GetString(), StringComparison.Ordinal);
        Assert.True((await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/verify")).GetProperty("valid").GetBoolean(), scenario);
    }

    [Fact]
    public async Task CreateToken_InsideKeyPolicy_Returns201WithPolicyValidityCap()
    {
        using var enroller = await CreateKeyClientAsync("enroller", TeamA);
        using var admin = _factory.CreateAdminClient();

        var response = await enroller.PostAsJsonAsync("/api/v1/enrollment-tokens", new
        {
            commonName = "web.team-a.example.org",
            sans = new[] { "web.team-a.example.org", "*.svc.team-a.example.org", "spiffe://example.org/team-a/web", "10.1.2.3" },
        });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("P30D", created.GetProperty("maxValidity").GetString());
        var view = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/enrollment-tokens/{created.GetProperty("id").GetString()}");
        Assert.Equal("P30D", view.GetProperty("maxValidity").GetString());
    }

    [Fact]
    public async Task CreateToken_PolicyCommonNamePatternAndIpNetwork_AllowMatchingNamesOnly()
    {
        using var enroller = await CreateKeyClientAsync("enroller", new { commonNamePattern = "sensor-*", ipNetworks = new[] { "10.1.0.0/16", "2001:db8::/48" } });

        Assert.Equal(HttpStatusCode.Created, (await enroller.PostAsJsonAsync("/api/v1/enrollment-tokens",
            new { commonName = "sensor-17", sans = new[] { "10.1.255.254", "2001:db8::17" } })).StatusCode);
        await ProblemAssert.IsProblemAsync(await enroller.PostAsJsonAsync("/api/v1/enrollment-tokens",
            new { commonName = "sensor-17", sans = new[] { "10.2.0.1" } }), HttpStatusCode.Forbidden);
        await ProblemAssert.IsProblemAsync(await enroller.PostAsJsonAsync("/api/v1/enrollment-tokens",
            new { commonName = "camera-17" }), HttpStatusCode.Forbidden);
        await ProblemAssert.IsProblemAsync(await enroller.PostAsJsonAsync("/api/v1/enrollment-tokens",
            new { commonName = "sensor-17", sans = new[] { "sensor-17.example.org" } }), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task CreateToken_ServerProfileByEnrollerWithoutPolicy_Returns403_ByAdmin_Returns201()
    {
        using var enroller = await CreateKeyClientAsync("enroller", namePolicy: null);
        using var admin = _factory.CreateAdminClient();
        var body = new { commonName = "localhost", sans = new[] { "localhost", "127.0.0.1" }, profile = "server" };

        var refused = await enroller.PostAsJsonAsync("/api/v1/enrollment-tokens", body);
        var allowed = await admin.PostAsJsonAsync("/api/v1/enrollment-tokens", body);

        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden);
        Assert.Contains("Only admin keys may create 'server'-profile tokens", problem.GetProperty("title").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, allowed.StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await enroller.PostAsJsonAsync("/api/v1/enrollment-tokens", new { commonName = "client-1" })).StatusCode);
    }

    [Fact]
    public async Task CreateToken_ServerProfileByEnrollerWhosePolicyListsIt_Returns201()
    {
        using var enroller = await CreateKeyClientAsync("enroller", new { dnsSuffixes = new[] { ".team-a.example.org" }, profiles = new[] { "client", "server" } });

        var response = await enroller.PostAsJsonAsync("/api/v1/enrollment-tokens",
            new { commonName = "web.team-a.example.org", sans = new[] { "web.team-a.example.org" }, profile = "server" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task Enroll_TokenMaxValidity_CapsNotAfter()
    {
        using var enroller = await CreateKeyClientAsync("enroller", TeamA);
        var created = await (await enroller.PostAsJsonAsync("/api/v1/enrollment-tokens",
            new { commonName = "db.team-a.example.org", maxValidity = "P7D" })).Content.ReadFromJsonAsync<PkiApiFactory.TokenResponse>();

        var response = await _factory.EnrollAsync(created!.Token, Csrs.P256("db.team-a.example.org"), validity: "P90D");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        using var certificate = X509Certificate2.CreateFromPem(body.Certificate);
        Assert.Equal(TimeSpan.FromDays(7) + TimeSpan.FromMinutes(1), certificate.NotAfter - certificate.NotBefore);
        Assert.Equal(body.NotAfter, new DateTimeOffset(certificate.NotAfter.ToUniversalTime()));
    }

    [Fact]
    public async Task Enroll_AdminTokenMaxValidity_CapsNotAfterBelowDefault()
    {
        using var admin = _factory.CreateAdminClient();
        var created = await (await admin.PostAsJsonAsync("/api/v1/enrollment-tokens",
            new { commonName = "short-lived", maxValidity = "PT1H" })).Content.ReadFromJsonAsync<PkiApiFactory.TokenResponse>();

        var response = await _factory.EnrollAsync(created!.Token, Csrs.P256("short-lived"));

        var body = (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        Assert.Equal(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(1), body.NotAfter - body.NotBefore);
    }

    private async Task<HttpClient> CreateKeyClientAsync(string role, object? namePolicy)
    {
        using var admin = _factory.CreateAdminClient();
        var response = await admin.PostAsJsonAsync("/api/v1/api-keys", new { name = "policy-" + Guid.NewGuid().ToString("N")[..8], role, namePolicy });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var key = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString();
        var client = _factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return client;
    }
}
