using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PkiService.Api.Tests.Support;
using PkiService.Api.Issuance;

namespace PkiService.Api.Tests.Infrastructure;

/// <summary>
/// The database fails while the service runs (an EF Core interceptor throws the SqliteException SQLite would): the
/// calls that write answer 503 problem+json, never 500; nothing is half-written; readiness says unhealthy; and the same
/// calls succeed once the fault clears.
/// </summary>
public sealed class DatabaseFaultTests
{
    [Theory]
    [InlineData(DatabaseFaultMode.Writes, DatabaseFault.SqliteFull)]
    [InlineData(DatabaseFaultMode.Writes, DatabaseFault.SqliteReadOnly)]
    [InlineData(DatabaseFaultMode.Inserts, DatabaseFault.SqliteFull)]
    [InlineData(DatabaseFaultMode.Commit, DatabaseFault.SqliteIoError)]
    public async Task DatabaseFails_WritesAnswer503WithNothingHalfWritten_AndSucceedAfterFaultClears(DatabaseFaultMode mode, int sqliteError)
    {
        var fault = new DatabaseFault();
        using var factory = new PkiApiFactory(databaseFault: fault);
        using var admin = factory.CreateAdminClient();
        using var anonymous = factory.CreateClient();
        var unusedToken = await factory.CreateTokenAsync("pending");
        var activeSerial = await EnrollAsync(factory, await factory.CreateTokenAsync("active"), "active");
        var csr = Csrs.P256("pending");
        var before = await SnapshotAsync(admin);

        using (fault.Start(mode, sqliteError))
        {
            await ProblemAssert.IsProblemAsync(await factory.EnrollAsync(unusedToken, csr), HttpStatusCode.ServiceUnavailable);
            await ProblemAssert.IsProblemAsync(
                await admin.PostAsJsonAsync("/api/v1/enrollment-tokens", new { commonName = "during-fault" }), HttpStatusCode.ServiceUnavailable);
            var revoke = await admin.PostAsJsonAsync($"/api/v1/certificates/{activeSerial}/revoke", new { reason = "keyCompromise" });
            await ProblemAssert.IsProblemAsync(revoke, HttpStatusCode.ServiceUnavailable);
            Assert.True(revoke.Headers.RetryAfter is not null, "a 503 says when to retry");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await anonymous.GetAsync("/health/ready")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/live")).StatusCode);

            // Reads still work, and show that nothing was half-written.
            Assert.Equal(before, await SnapshotAsync(admin));
            Assert.True(fault.Injected >= 4, $"the fault struck {fault.Injected} times");
        }

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/ready")).StatusCode);
        // The same calls now succeed: the token was not consumed, the certificate was not revoked.
        var pendingSerial = await EnrollAsync(factory, unusedToken, "pending", csr);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/enrollment-tokens", new { commonName = "after-fault" })).StatusCode);
        var revoked = await admin.PostAsJsonAsync($"/api/v1/certificates/{activeSerial}/revoke", new { reason = "keyCompromise" });
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        var after = await SnapshotAsync(admin);
        Assert.Equal(before.Certificates + 1, after.Certificates);
        Assert.Equal(1, after.Revoked);
        Assert.Equal("active", (await admin.GetFromJsonAsync<JsonElement>($"/api/v1/certificates/{pendingSerial}")).GetProperty("status").GetString());
        var verification = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/verify");
        Assert.True(verification.GetProperty("valid").GetBoolean(), verification.ToString());
    }

    private sealed record Snapshot(int Certificates, int Revoked, long AuditRows);

    private static async Task<Snapshot> SnapshotAsync(HttpClient admin)
    {
        var all = await admin.GetFromJsonAsync<JsonElement>("/api/v1/certificates?pageSize=1");
        var revoked = await admin.GetFromJsonAsync<JsonElement>("/api/v1/certificates?status=revoked&pageSize=1");
        var audit = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/verify");
        return new Snapshot(all.GetProperty("total").GetInt32(), revoked.GetProperty("total").GetInt32(), audit.GetProperty("checked").GetInt64());
    }

    private static async Task<string> EnrollAsync(PkiApiFactory factory, string token, string commonName, string? csr = null)
    {
        var response = await factory.EnrollAsync(token, csr ?? Csrs.P256(commonName));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!.SerialNumber;
    }
}
