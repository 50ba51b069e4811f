using System.Net;
using System.Net.Http.Json;
using System.Text;
using PkiService.Api.Tests.Support;
using PkiService.Api.Issuance;

namespace PkiService.Api.Tests.Features.Authorization;

/// <summary>Every endpoint, called with every kind of credential; the expected status for each comes from one table.</summary>
public sealed class AuthorizationMatrixTests : IClassFixture<AuthorizationMatrixTests.Host>
{
    public enum Caller { None, WrongKey, Admin, Enroller, Auditor, UsedToken, ExpiredToken }

    public sealed class Host : IAsyncLifetime
    {
        public AdjustableTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

        public PkiApiFactory Factory { get; private set; } = null!;

        public Dictionary<Caller, string?> Credentials { get; } = [];

        public string Serial { get; private set; } = null!;

        public string TokenId { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Factory = new PkiApiFactory(timeProvider: Clock, settings: new Dictionary<string, string?> { ["RateLimits:AuthenticationFailuresPerMinute"] = "100000" });
            using var admin = Factory.CreateAdminClient();
            async Task<string> KeyAsync(string role) =>
                (await (await admin.PostAsJsonAsync("/api/v1/api-keys", new { name = role + "-key", role })).Content.ReadFromJsonAsync<KeyResponse>())!.Key;

            var used = await Factory.CreateTokenAsync("matrix");
            var enrolled = await Factory.EnrollAsync(used, Csrs.P256("matrix"));
            Serial = (await enrolled.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!.SerialNumber;
            var created = await (await admin.PostAsJsonAsync("/api/v1/enrollment-tokens", new { commonName = "listed" })).Content.ReadFromJsonAsync<PkiApiFactory.TokenResponse>();
            TokenId = created!.Id;
            var expired = await Factory.CreateTokenAsync("late", ttl: "PT1M");

            Credentials[Caller.None] = null;
            Credentials[Caller.WrongKey] = "pki_ak_this-key-does-not-exist";
            Credentials[Caller.Admin] = PkiApiFactory.AdminKey;
            Credentials[Caller.Enroller] = await KeyAsync("enroller");
            Credentials[Caller.Auditor] = await KeyAsync("auditor");
            Credentials[Caller.UsedToken] = used;
            Credentials[Caller.ExpiredToken] = expired;
            Clock.Advance(TimeSpan.FromMinutes(2));
        }

        public Task DisposeAsync()
        {
            Factory.Dispose();
            return Task.CompletedTask;
        }

        private sealed record KeyResponse(string Id, string Key);
    }

    private readonly Host _host;

    public AuthorizationMatrixTests(Host host) => _host = host;

    // Columns: None, WrongKey, Admin, Enroller, Auditor, UsedToken, ExpiredToken.
    public static TheoryData<string, string, string?, int[]> Matrix => new()
    {
        { "POST", "/api/v1/enrollment-tokens", "{\"commonName\":\"m\"}", [401, 401, 201, 201, 403, 401, 401] },
        { "GET", "/api/v1/enrollment-tokens", null, [401, 401, 200, 403, 403, 401, 401] },
        { "GET", "/api/v1/enrollment-tokens/{token}", null, [401, 401, 200, 403, 403, 401, 401] },
        { "DELETE", "/api/v1/enrollment-tokens/no-such-token", null, [401, 401, 404, 403, 403, 401, 401] },
        { "GET", "/api/v1/certificates", null, [401, 401, 200, 403, 200, 401, 401] },
        { "GET", "/api/v1/certificates/{serial}", null, [401, 401, 200, 403, 200, 401, 401] },
        { "POST", "/api/v1/certificates/0123456789ABCDEF/revoke", "{\"reason\":\"keyCompromise\"}", [401, 401, 404, 403, 403, 401, 401] },
        { "GET", "/api/v1/notifications", null, [401, 401, 200, 403, 200, 401, 401] },
        { "GET", "/api/v1/audit", null, [401, 401, 200, 403, 200, 401, 401] },
        { "GET", "/api/v1/audit/verify", null, [401, 401, 200, 403, 200, 401, 401] },
        { "GET", "/api/v1/audit/checkpoint", null, [401, 401, 200, 403, 200, 401, 401] },
        // A well-formed body whose signature does not verify: the readers get as far as the signature check (400).
        { "POST", "/api/v1/audit/verify-checkpoint", "{\"signedData\":\"e30=\",\"signature\":\"MAA=\"}", [401, 401, 400, 403, 400, 401, 401] },
        { "POST", "/api/v1/api-keys", "{\"name\":\"n\",\"role\":\"auditor\"}", [401, 401, 201, 403, 403, 401, 401] },
        { "GET", "/api/v1/api-keys", null, [401, 401, 200, 403, 403, 401, 401] },
        { "DELETE", "/api/v1/api-keys/no-such-key", null, [401, 401, 404, 403, 403, 401, 401] },
        // Enrollment takes tokens, not API keys: every API key and every spent token is refused.
        { "POST", "/api/v1/enroll", "{\"csr\":\"-----BEGIN CERTIFICATE REQUEST-----\\nAA==\\n-----END CERTIFICATE REQUEST-----\"}", [401, 401, 401, 401, 401, 401, 401] },
        { "GET", "/pki/ca.crt", null, [200, 200, 200, 200, 200, 200, 200] },
        { "GET", "/pki/crl", null, [200, 200, 200, 200, 200, 200, 200] },
        { "GET", "/health/ready", null, [200, 200, 200, 200, 200, 200, 200] },
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Endpoint_EachCaller_GetsTheStatusInTheTable(string method, string path, string? body, int[] expected)
    {
        var failures = new List<string>();
        foreach (var caller in Enum.GetValues<Caller>())
        {
            using var client = _host.Factory.CreateClient();
            using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{serial}", _host.Serial).Replace("{token}", _host.TokenId));
            if (body is not null)
            {
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            }
            if (_host.Credentials[caller] is { } credential)
            {
                request.Headers.Authorization = new("Bearer", credential);
            }

            var response = await client.SendAsync(request);

            var want = expected[(int)caller];
            if ((int)response.StatusCode != want)
            {
                failures.Add($"{caller}: expected {want}, got {(int)response.StatusCode}");
            }
            else if (want >= 400)
            {
                await ProblemAssert.IsProblemAsync(response, (HttpStatusCode)want);
            }
        }
        Assert.True(failures.Count == 0, $"{method} {path}: {string.Join("; ", failures)}");
    }
}
