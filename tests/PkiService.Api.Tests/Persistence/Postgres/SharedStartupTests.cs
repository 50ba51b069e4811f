using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using PkiService.Api.Tests.Support;

namespace PkiService.Api.Tests.Persistence.Postgres;

/// <summary>
/// What each node does once at start-up, when nodes with data directories of their own share one PostgreSQL database:
/// the bootstrap admin key and the one-time sealing of audit rows written before the audit MAC are facts of the
/// database, not of whichever data directory a node happens to have.
/// </summary>
public sealed class SharedStartupTests
{
    private const string ConfiguredKey = "pki_ak_configured-bootstrap-key-0123456789abcdef";

    private static readonly Dictionary<string, string?> NoConfiguredKey = new() { ["Admin:BootstrapApiKey"] = "" };

    [SkippableFact]
    public async Task Start_SecondNodeWithEmptyDataDirectoryAndNoConfiguredKey_KeepsTheFirstNodesBootstrapKey()
    {
        using var first = new PkiApiFactory(settings: NoConfiguredKey, database: TestDatabase.Postgres);
        _ = first.Services;
        var firstKey = (await File.ReadAllTextAsync(Path.Combine(first.DataDirectory, "admin-api-key"))).Trim();

        using var second = new PkiApiFactory(settings: NoConfiguredKey, database: TestDatabase.Postgres, databaseOf: first.DataDirectory);
        _ = second.Services;

        Assert.False(File.Exists(Path.Combine(second.DataDirectory, "admin-api-key")), "the second node generated a key of its own");
        Assert.Equal(HttpStatusCode.OK, await StatusWithKeyAsync(first, firstKey));
        Assert.Equal(HttpStatusCode.OK, await StatusWithKeyAsync(second, firstKey));
        var rows = await BootstrapAuditRowsAsync(first, firstKey);
        Assert.StartsWith("created from a key generated into admin-api-key", Assert.Single(rows).GetProperty("details").GetString(), StringComparison.Ordinal);

        // A configured key still replaces it, from any node, audited as today.
        using var third = new PkiApiFactory(settings: new Dictionary<string, string?> { ["Admin:BootstrapApiKey"] = ConfiguredKey },
            database: TestDatabase.Postgres, databaseOf: first.DataDirectory);
        _ = third.Services;
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusWithKeyAsync(first, firstKey));
        Assert.Equal(HttpStatusCode.OK, await StatusWithKeyAsync(second, ConfiguredKey));
        rows = await BootstrapAuditRowsAsync(first, ConfiguredKey);
        Assert.Equal(2, rows.Count);
        Assert.StartsWith("replaced by Admin:BootstrapApiKey", rows[0].GetProperty("details").GetString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Start_NodesOnADatabaseWithUnsealedAuditRows_SealThemOnce_AndANodeWithAFreshDataDirectoryDoesNotSealAgain()
    {
        var firstDirectory = TempDirectory.Create();
        using (var first = new PkiApiFactory(firstDirectory, database: TestDatabase.Postgres))
        {
            await first.CreateTokenAsync("seal-test");
        }
        // The state of a database written before the audit MAC: no MACs, and no sealing recorded.
        var legacyRows = await ExecuteAsync(firstDirectory, "UPDATE \"AuditEvents\" SET \"Mac\" = NULL");
        Assert.Equal(1, await ExecuteAsync(firstDirectory, "DELETE FROM \"ServiceState\" WHERE \"Key\" = 'audit-mac-sealed'"));

        using var second = new PkiApiFactory(database: TestDatabase.Postgres, databaseOf: firstDirectory);
        using var third = new PkiApiFactory(database: TestDatabase.Postgres, databaseOf: firstDirectory);
        await Task.WhenAll(new[] { second, third }.Select(node => Task.Run(() => node.Services)));

        var seal = Assert.Single(await AuditRowsAsync(second, "audit.seal"));
        Assert.StartsWith($"{legacyRows} rows written before the audit MAC", seal.GetProperty("details").GetString(), StringComparison.Ordinal);
        Assert.True((await VerifyAsync(third)).GetProperty("valid").GetBoolean());
        Assert.Equal(1, await ScalarAsync(firstDirectory, "SELECT count(*) FROM \"ServiceState\" WHERE \"Key\" = 'audit-mac-sealed'"));
        Assert.All(new[] { firstDirectory, second.DataDirectory, third.DataDirectory },
            directory => Assert.False(File.Exists(Path.Combine(directory, "audit-mac-sealed"))));

        // Someone who can write the database strips every MAC; a node with a fresh data directory must not seal them again.
        await ExecuteAsync(firstDirectory, "UPDATE \"AuditEvents\" SET \"Mac\" = NULL");
        using var fourth = new PkiApiFactory(database: TestDatabase.Postgres, databaseOf: firstDirectory);
        _ = fourth.Services;

        Assert.Single(await AuditRowsAsync(fourth, "audit.seal"));
        var verification = await VerifyAsync(fourth);
        Assert.False(verification.GetProperty("valid").GetBoolean(), verification.ToString());
        Assert.Equal(1, verification.GetProperty("firstBrokenId").GetInt64());
        Assert.Contains("no MAC", verification.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    private static async Task<HttpStatusCode> StatusWithKeyAsync(PkiApiFactory node, string key)
    {
        using var client = node.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return (await client.GetAsync("/api/v1/api-keys")).StatusCode;
    }

    private static async Task<List<JsonElement>> BootstrapAuditRowsAsync(PkiApiFactory node, string key)
    {
        using var client = node.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var page = await client.GetFromJsonAsync<JsonElement>("/api/v1/audit?action=apikey.bootstrap&pageSize=100");
        return page.GetProperty("items").EnumerateArray().ToList(); // newest first
    }

    private static async Task<List<JsonElement>> AuditRowsAsync(PkiApiFactory node, string action)
    {
        using var admin = node.CreateAdminClient();
        var page = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/audit?action={action}&pageSize=100");
        return page.GetProperty("items").EnumerateArray().ToList();
    }

    private static async Task<JsonElement> VerifyAsync(PkiApiFactory node)
    {
        using var admin = node.CreateAdminClient();
        return await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/verify");
    }

    private static async Task<int> ExecuteAsync(string databaseDirectory, string sql)
    {
        await using var connection = Open(databaseDirectory);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(string databaseDirectory, string sql)
    {
        await using var connection = Open(databaseDirectory);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static NpgsqlConnection Open(string databaseDirectory) =>
        new(TestDatabase.Postgres.Settings(databaseDirectory)["ConnectionStrings:Pki"]);
}
