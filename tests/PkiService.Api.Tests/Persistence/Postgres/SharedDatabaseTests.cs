using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using PkiService.Api.Features.Expiry;
using PkiService.Api.Tests.Support;
using PkiService.Tests.Shared;

namespace PkiService.Api.Tests.Persistence.Postgres;

/// <summary>
/// Two service hosts on ONE PostgreSQL database, as two nodes of a cluster are: each with a data directory of its own,
/// the CA keys in the database (the first creates the CA hierarchy, the second loads it). What is checked is what the
/// database alone must guarantee across processes: a token yields one certificate, serials are unique, and the audit
/// chain stays one chain.
/// </summary>
public sealed class SharedDatabaseTests
{
    [SkippableFact]
    public async Task Enroll_TokensRacedOnTwoHostsSharingOneDatabase_OneCertificatePerTokenAndOneValidAuditChain()
    {
        using var first = new PkiApiFactory(database: TestDatabase.Postgres);
        _ = first.Services; // the first host creates the CA hierarchy and the schema before the second starts
        using var second = new PkiApiFactory(database: TestDatabase.Postgres, databaseOf: first.DataDirectory);
        _ = second.Services;
        const int tokenCount = 24;
        var tokens = await Task.WhenAll(Enumerable.Range(0, tokenCount).Select(i => (i % 2 == 0 ? first : second).CreateTokenAsync($"raced-{i}")));

        // Every token is sent twice to each host at once: four requests race for each token across two processes' writers.
        var attempts = tokens.SelectMany((token, i) => new[] { first, second, first, second }
            .Select(host => (Token: i, Response: host.EnrollAsync(token, Csrs.P256($"raced-{i}"))))).ToList();
        await Task.WhenAll(attempts.Select(a => a.Response));

        var created = attempts.Where(a => a.Response.Result.StatusCode == HttpStatusCode.Created).ToList();
        Assert.Equal(Enumerable.Range(0, tokenCount), created.Select(a => a.Token).Order());
        Assert.All(attempts.Except(created), a => Assert.True(
            a.Response.Result.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.Conflict,
            $"a losing request answered {(int)a.Response.Result.StatusCode}"));
        var serials = await Task.WhenAll(created.Select(async a => (await a.Response.Result.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!.SerialNumber));
        Assert.Equal(tokenCount, serials.Distinct().Count());
        Assert.Equal(tokenCount, await CountAsync(first, "SELECT count(*) FROM \"Certificates\""));

        foreach (var host in new[] { first, second })
        {
            using var admin = host.CreateAdminClient();
            var verification = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/verify");
            Assert.True(verification.GetProperty("valid").GetBoolean(), verification.ToString());
            var issued = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit?action=certificate.issue&pageSize=100");
            var targets = issued.GetProperty("items").EnumerateArray()
                .Where(i => i.GetProperty("outcome").GetString() == "success")
                .Select(i => i.GetProperty("target").GetString()!)
                .ToHashSet();
            Assert.True(targets.SetEquals(serials));
        }
        // One chain: ids are consecutive from 1, each row links to the one before (verify checked the links).
        Assert.Equal(await CountAsync(first, "SELECT count(*) FROM \"AuditEvents\""), await CountAsync(first, "SELECT max(\"Id\") FROM \"AuditEvents\""));
    }

    /// <summary>
    /// Two hosts scanning for expiring certificates at the same time, over and over: each certificate gets exactly one
    /// warning per (threshold, channel), whichever host recorded and delivered it.
    /// </summary>
    [SkippableFact]
    public async Task ExpiryScan_TwoHostsScanningAtOnce_OneWarningPerCertificate()
    {
        using var receiver = new WebhookReceiver();
        var settings = new Dictionary<string, string?>
        {
            ["Notifications:Webhook:Url"] = receiver.Url,
            ["Notifications:Webhook:Secret"] = "webhook-test-secret-of-at-least-32-bytes",
            ["Expiry:ScanInterval"] = "P1D", // the job runs once at start; the test drives the scans
        };
        using var first = new PkiApiFactory(settings: settings, database: TestDatabase.Postgres);
        _ = first.Services;
        using var second = new PkiApiFactory(settings: settings, database: TestDatabase.Postgres, databaseOf: first.DataDirectory);
        _ = second.Services;
        var serials = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            var token = await first.CreateTokenAsync($"expiring-{i}");
            var enrolled = await first.EnrollAsync(token, Csrs.P256($"expiring-{i}"), "P5D"); // inside the P7D threshold
            serials.Add((await enrolled.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!.SerialNumber);
        }

        for (var round = 0; round < 3; round++)
        {
            await Task.WhenAll(new[] { first, second, first, second }.Select(host =>
                ExpiryWarningJob.RunOnceAsync(host.Services.GetRequiredService<IServiceScopeFactory>(), CancellationToken.None)));
        }

        var warned = receiver.Calls.Where(c => c.AnsweredWith is >= 200 and < 300)
            .Select(c => JsonDocument.Parse(c.Body).RootElement.GetProperty("serialNumber").GetString()!)
            .ToList();
        Assert.Equal(serials.Order(), warned.Order());
        Assert.Equal(6, await CountAsync(first, "SELECT count(*) FROM \"ExpiryNotifications\" WHERE \"Threshold\" = 'P7D' AND \"Status\" = 'Sent'"));
    }

    private static async Task<long> CountAsync(PkiApiFactory factory, string sql)
    {
        await using var connection = new NpgsqlConnection(factory.Database.Settings(factory.DatabaseDirectory)["ConnectionStrings:Pki"]);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
