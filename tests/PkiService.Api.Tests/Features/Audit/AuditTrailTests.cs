using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PkiService.Api.Tests.Support;
using PkiService.Api.Issuance;

namespace PkiService.Api.Tests.Features.Audit;

public abstract class AuditTrailTests(TestDatabase database) : IDisposable
{
    private readonly PkiApiFactory _factory = new(database: database);

    [SkippableFact]
    public async Task SecurityEvents_AreRecordedWithActorAndOutcome_AndTheChainVerifies()
    {
        var serial = await LifecycleAsync();
        using var admin = _factory.CreateAdminClient();

        var audit = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit?pageSize=100");
        var rows = audit.GetProperty("items").EnumerateArray().ToList();
        var actions = rows.Select(r => r.GetProperty("action").GetString()).ToHashSet();
        Assert.Superset(new HashSet<string?> { "ca.create", "notifications.configure", "token.create", "certificate.issue", "certificate.revoke", "apikey.create", "auth.fail" }, actions);
        var revoke = rows.Single(r => r.GetProperty("action").GetString() == "certificate.revoke");
        Assert.Equal("apikey:bootstrap", revoke.GetProperty("actor").GetString());
        Assert.Equal(serial, revoke.GetProperty("target").GetString());
        Assert.Equal("success", revoke.GetProperty("outcome").GetString());
        Assert.Equal("127.0.0.1", revoke.GetProperty("clientIp").GetString());
        Assert.Contains(rows, r => r.GetProperty("action").GetString() == "auth.fail" && r.GetProperty("outcome").GetString() == "failure");
        Assert.Contains(rows, r => r.GetProperty("action").GetString() == "certificate.issue" && r.GetProperty("outcome").GetString() == "failure");

        var verification = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/verify");
        Assert.True(verification.GetProperty("valid").GetBoolean());
        Assert.Equal(audit.GetProperty("total").GetInt64(), verification.GetProperty("checked").GetInt64());
    }

    [SkippableFact]
    public async Task Verify_AlteredRow_ReportsThatRow()
    {
        await LifecycleAsync();
        Execute("UPDATE \"AuditEvents\" SET \"Details\" = 'nothing happened' WHERE \"Id\" = 4");

        var verification = await Verify();

        Assert.False(verification.GetProperty("valid").GetBoolean());
        Assert.Equal(4, verification.GetProperty("firstBrokenId").GetInt64());
        Assert.Contains("altered", verification.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Verify_DeletedRow_ReportsTheGap()
    {
        await LifecycleAsync();
        Execute("DELETE FROM \"AuditEvents\" WHERE \"Id\" = 3");

        var verification = await Verify();

        Assert.False(verification.GetProperty("valid").GetBoolean());
        Assert.Equal(3, verification.GetProperty("firstBrokenId").GetInt64());
    }

    [SkippableFact]
    public async Task ConcurrentEvents_KeepOneUnbrokenChain()
    {
        var tokens = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => _factory.CreateTokenAsync($"c{i}")));
        await Task.WhenAll(tokens.Select((t, i) => _factory.EnrollAsync(t, Csrs.P256(i % 2 == 0 ? $"c{i}" : "wrong-name"))));

        var verification = await Verify();

        Assert.True(verification.GetProperty("valid").GetBoolean(), verification.ToString());
        Assert.True(verification.GetProperty("checked").GetInt64() >= 42);
    }

    private async Task<string> LifecycleAsync()
    {
        using var admin = _factory.CreateAdminClient();
        var token = await _factory.CreateTokenAsync("audited");
        await _factory.EnrollAsync(token, Csrs.P256("someone-else")); // refused: CN not allowed
        var enrolled = await (await _factory.EnrollAsync(token, Csrs.P256("audited"))).Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>();
        (await admin.PostAsJsonAsync($"/api/v1/certificates/{enrolled!.SerialNumber}/revoke", new { reason = "keyCompromise" })).EnsureSuccessStatusCode();
        (await admin.PostAsJsonAsync("/api/v1/api-keys", new { name = "auditor", role = "auditor" })).EnsureSuccessStatusCode();
        using var intruder = _factory.CreateClient();
        intruder.DefaultRequestHeaders.Authorization = new("Bearer", "pki_ak_guess");
        Assert.Equal(HttpStatusCode.Unauthorized, (await intruder.GetAsync("/api/v1/certificates")).StatusCode);
        return enrolled.SerialNumber;
    }

    private async Task<JsonElement> Verify()
    {
        using var admin = _factory.CreateAdminClient();
        return await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/verify");
    }

    private void Execute(string sql)
    {
        using var connection = _factory.Database.Open(_factory.DataDirectory);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        Assert.Equal(1, command.ExecuteNonQuery());
    }

    public void Dispose() => _factory.Dispose();
}

/// <summary><see cref="AuditTrailTests"/> on the embedded SQLite file.</summary>
public sealed class AuditTrailTestsOnSqlite() : AuditTrailTests(TestDatabase.Sqlite);

/// <summary><see cref="AuditTrailTests"/> on a real PostgreSQL database.</summary>
public sealed class AuditTrailTestsOnPostgres() : AuditTrailTests(TestDatabase.Postgres);
