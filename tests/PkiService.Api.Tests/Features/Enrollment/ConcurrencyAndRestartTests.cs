using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PkiService.Api.Tests.Support;
using PkiService.Core.Authorities;
using PkiService.Api.Issuance;

namespace PkiService.Api.Tests.Features.Enrollment;

public abstract class ConcurrencyAndRestartTests(TestDatabase database)
{
    [SkippableFact]
    public async Task Enroll_50ConcurrentClients_AllSucceedWithDistinctSerialsListedByAdminApi()
    {
        using var factory = new PkiApiFactory(database: database);
        var tokens = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => factory.CreateTokenAsync($"load-{i}")));

        var responses = await Task.WhenAll(tokens.Select((token, i) => factory.EnrollAsync(token, Csrs.P256($"load-{i}"))));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        var serials = await Task.WhenAll(responses.Select(async r => (await r.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!.SerialNumber));
        Assert.Equal(50, serials.Distinct().Count());

        using var admin = factory.CreateAdminClient();
        var listed = new HashSet<string>();
        for (var page = 1; page <= 3; page++)
        {
            var json = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/certificates?page={page}&pageSize=20");
            Assert.Equal(50, json.GetProperty("total").GetInt32());
            listed.UnionWith(json.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("serialNumber").GetString()!));
        }
        Assert.True(listed.SetEquals(serials));

        // Group commit stores many enrollments' audit events in one transaction: the chain must still verify,
        // with one issue event per certificate.
        var verification = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/verify");
        Assert.True(verification.GetProperty("valid").GetBoolean());
        var issued = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit?action=certificate.issue&pageSize=100");
        var targets = issued.GetProperty("items").EnumerateArray()
            .Where(i => i.GetProperty("outcome").GetString() == "success")
            .Select(i => i.GetProperty("target").GetString()!)
            .ToHashSet();
        Assert.True(targets.SetEquals(serials));
    }

    [SkippableFact]
    public async Task Enroll_OneTokenRacedByEightRequests_ExactlyOneCertificate()
    {
        using var factory = new PkiApiFactory(database: database);
        var token = await factory.CreateTokenAsync("raced");

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => factory.EnrollAsync(token, Csrs.P256("raced"))));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        foreach (var refused in responses.Where(r => r.StatusCode != HttpStatusCode.Created))
        {
            await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Unauthorized);
        }
        using var admin = factory.CreateAdminClient();
        var json = await admin.GetFromJsonAsync<JsonElement>("/api/v1/certificates?pageSize=20");
        Assert.Equal(1, json.GetProperty("total").GetInt32());
    }

    [SkippableFact]
    public async Task Enroll_WhileTheCommitterStops_Answers503AndStoresNothing()
    {
        using var factory = new PkiApiFactory(database: database);
        var token = await factory.CreateTokenAsync("late");
        await factory.Services.GetRequiredService<IssuanceCommitter>().StopAsync(CancellationToken.None);

        var response = await factory.EnrollAsync(token, Csrs.P256("late"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable);
        using var admin = factory.CreateAdminClient();
        var json = await admin.GetFromJsonAsync<JsonElement>("/api/v1/certificates?pageSize=20");
        Assert.Equal(0, json.GetProperty("total").GetInt32());
    }

    [SkippableFact]
    public async Task Restart_KeepsCaFingerprintsCertificatesAndConsumedTokens()
    {
        string directory;
        string rootPem, chainPem, serial, usedToken;
        using (var first = new PkiApiFactory(database: database))
        {
            directory = first.DataDirectory;
            usedToken = await first.CreateTokenAsync("survivor");
            var enrolled = await first.EnrollAsync(usedToken, Csrs.P256("survivor"));
            serial = (await enrolled.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!.SerialNumber;
            using var client = first.CreateClient();
            rootPem = await client.GetStringAsync("/pki/root.pem");
            chainPem = await client.GetStringAsync("/pki/chain.pem");
        }

        using var second = new PkiApiFactory(directory, database: database);
        using var again = second.CreateClient();
        Assert.Equal(rootPem, await again.GetStringAsync("/pki/root.pem"));
        Assert.Equal(chainPem, await again.GetStringAsync("/pki/chain.pem"));
        using var admin = second.CreateAdminClient();
        var record = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/certificates/{serial}");
        Assert.Equal("active", record.GetProperty("status").GetString());
        Assert.Equal("CN=survivor", record.GetProperty("subject").GetString());
        var reuse = await second.EnrollAsync(usedToken, Csrs.P256("survivor"));
        await ProblemAssert.IsProblemAsync(reuse, HttpStatusCode.Unauthorized);
    }

    [SkippableFact]
    public async Task Restart_WithWrongPassphrase_StopsWithClearMessage()
    {
        using var first = new PkiApiFactory(database: database);
        first.CreateClient().Dispose();

        using var second = new PkiApiFactory(first.DataDirectory, settings: new Dictionary<string, string?> { ["Pki:KeyPassphrase"] = "not the passphrase" }, database: database);
        var error = Assert.ThrowsAny<Exception>(() => second.CreateClient());

        var unlock = error as CaKeyUnlockException ?? error.InnerException as CaKeyUnlockException;
        Assert.NotNull(unlock);
        Assert.Contains("Pki:KeyPassphrase", unlock.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void DataDirectory_AfterStart_IsOwnerOnly()
    {
        using var factory = new PkiApiFactory(database: database);
        factory.CreateClient().Dispose();

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(factory.DataDirectory));
        var files = Directory.GetFiles(factory.DataDirectory);
        Assert.Equal(!database.IsPostgres, files.Any(f => f.EndsWith("pki.db", StringComparison.Ordinal)));
        // On a shared database the CA keys live in the database (encrypted), not in the node's data directory.
        Assert.Equal(!database.IsPostgres, files.Any(f => f.EndsWith("issuing-ca.key", StringComparison.Ordinal)));
        Assert.All(files, f => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(f)));
        Assert.All(Directory.GetFiles(factory.DataDirectory, "*.key"), f =>
            Assert.Contains("BEGIN ENCRYPTED PRIVATE KEY", File.ReadAllText(f), StringComparison.Ordinal));
    }
}

/// <summary><see cref="ConcurrencyAndRestartTests"/> on the embedded SQLite file.</summary>
public sealed class ConcurrencyAndRestartTestsOnSqlite() : ConcurrencyAndRestartTests(TestDatabase.Sqlite);

/// <summary><see cref="ConcurrencyAndRestartTests"/> on a real PostgreSQL database.</summary>
public sealed class ConcurrencyAndRestartTestsOnPostgres() : ConcurrencyAndRestartTests(TestDatabase.Postgres);
