using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Org.BouncyCastle.X509;
using PkiService.Api.Tests.Support;
using PkiService.Api.Issuance;

namespace PkiService.Api.Tests.Features.Revocation;

public abstract class RevocationTests
{
    public abstract class Host(TestDatabase database) : IDisposable
    {
        public PkiApiFactory Factory { get; } = new(database: database);

        public void Dispose()
        {
            Factory.Dispose();
            GC.SuppressFinalize(this);
        }
    }

    private readonly PkiApiFactory _factory;

    protected RevocationTests(Host host) => _factory = host.Factory;

    [SkippableFact]
    public async Task Revoke_ActiveCertificate_Returns200AndOcspAndCrlSayRevokedAtOnce()
    {
        var serial = await EnrollAsync("to-revoke");
        using var admin = _factory.CreateAdminClient();
        using var client = _factory.CreateClient();
        var issuer = OcspClient.Parse(await client.GetByteArrayAsync("/pki/ca.crt"));
        var ocspRequest = OcspClient.Request(issuer, serial);
        Assert.Equal("good", OcspClient.StatusOf(await (await OcspClient.PostAsync(client, ocspRequest)).Content.ReadAsByteArrayAsync()));

        var response = await admin.PostAsJsonAsync($"/api/v1/certificates/{serial}/revoke", new { reason = "keyCompromise", invalidityDate = DateTimeOffset.UtcNow.AddHours(-2) });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("revoked", record.GetProperty("status").GetString());
        Assert.Equal("keyCompromise", record.GetProperty("revocationReason").GetString());
        // No waiting: when the revoke call has answered, the cached "good" is gone and the CRL is re-issued.
        Assert.Equal("revoked:1", OcspClient.StatusOf(await (await OcspClient.PostAsync(client, ocspRequest)).Content.ReadAsByteArrayAsync()));
        var crl = new X509CrlParser().ReadCrl(await client.GetByteArrayAsync("/pki/crl"));
        var entry = crl.GetRevokedCertificate(new Org.BouncyCastle.Math.BigInteger(serial, 16));
        Assert.NotNull(entry);
        Assert.True(entry.HasExtensions);
        var listed = await admin.GetFromJsonAsync<JsonElement>("/api/v1/certificates?status=revoked");
        Assert.Contains(listed.GetProperty("items").EnumerateArray(), i => i.GetProperty("serialNumber").GetString() == serial);
    }

    [SkippableFact]
    public async Task Revoke_Twice_Returns409()
    {
        var serial = await EnrollAsync("twice");
        using var admin = _factory.CreateAdminClient();
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/v1/certificates/{serial}/revoke", new { reason = "superseded" })).StatusCode);

        var again = await admin.PostAsJsonAsync($"/api/v1/certificates/{serial}/revoke", new { reason = "keyCompromise" });

        await ProblemAssert.IsProblemAsync(again, HttpStatusCode.Conflict);
    }

    [SkippableFact]
    public async Task Revoke_ConcurrentRequestsForOneCertificate_ExactlyOneSucceeds()
    {
        var serial = await EnrollAsync("raced");
        using var admin = _factory.CreateAdminClient();

        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            admin.PostAsJsonAsync($"/api/v1/certificates/{serial}/revoke", new { reason = "keyCompromise" })));

        Assert.Equal(1, answers.Count(a => a.StatusCode == HttpStatusCode.OK));
        Assert.Equal(7, answers.Count(a => a.StatusCode == HttpStatusCode.Conflict));
    }

    [SkippableTheory]
    [InlineData("0123456789ABCDEF0123456789ABCDEF", "{\"reason\":\"keyCompromise\"}", HttpStatusCode.NotFound)]
    [InlineData("XYZ", "{\"reason\":\"keyCompromise\"}", HttpStatusCode.BadRequest)]
    [InlineData(null, "{\"reason\":\"stolen\"}", HttpStatusCode.BadRequest)]
    [InlineData(null, "{\"reason\":7}", HttpStatusCode.BadRequest)]
    [InlineData(null, "{\"reason\":\"keyCompromise\",\"invalidityDate\":\"2999-01-01T00:00:00Z\"}", HttpStatusCode.BadRequest)]
    [InlineData(null, "{\"reason\":", HttpStatusCode.BadRequest)]
    public async Task Revoke_BadInput_ReturnsProblemAndLeavesCertificateActive(string? serial, string body, HttpStatusCode expected)
    {
        var active = await EnrollAsync("stays-active-" + Guid.NewGuid().ToString("N")[..6]);
        using var admin = _factory.CreateAdminClient();

        var response = await admin.PostAsync($"/api/v1/certificates/{serial ?? active}/revoke", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        await ProblemAssert.IsProblemAsync(response, expected);
        var record = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/certificates/{active}");
        Assert.Equal("active", record.GetProperty("status").GetString());
    }

    [SkippableFact]
    public async Task Revoke_WithoutApiKey_Returns401()
    {
        var serial = await EnrollAsync("no-key");
        using var client = _factory.CreateClient();

        var response = await client.PostAsJsonAsync($"/api/v1/certificates/{serial}/revoke", new { reason = "keyCompromise" });

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
    }

    private async Task<string> EnrollAsync(string commonName)
    {
        var token = await _factory.CreateTokenAsync(commonName);
        var response = await _factory.EnrollAsync(token, Csrs.P256(commonName));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!.SerialNumber;
    }
}

/// <summary>The host of <see cref="RevocationTestsOnSqlite"/>.</summary>
public sealed class RevocationTestsSqliteHost() : RevocationTests.Host(TestDatabase.Sqlite);

/// <summary>The host of <see cref="RevocationTestsOnPostgres"/>.</summary>
public sealed class RevocationTestsPostgresHost() : RevocationTests.Host(TestDatabase.Postgres);

/// <summary><see cref="RevocationTests"/> on the embedded SQLite file.</summary>
public sealed class RevocationTestsOnSqlite(RevocationTestsSqliteHost host) : RevocationTests(host), IClassFixture<RevocationTestsSqliteHost>;

/// <summary><see cref="RevocationTests"/> on a real PostgreSQL database.</summary>
public sealed class RevocationTestsOnPostgres(RevocationTestsPostgresHost host) : RevocationTests(host), IClassFixture<RevocationTestsPostgresHost>;
