using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using PkiService.Api.Tests.Support;

namespace PkiService.Api.Tests.Infrastructure;

/// <summary>
/// Start-up and the bootstrap admin key: a supplied key must be long enough, and every change of the bootstrap key is
/// an audit row that never carries the key.
/// </summary>
public sealed class PkiStartupTests
{
    private const string RotatedKey = "pki_ak_rotated-bootstrap-key-0123456789abcdef";

    [Fact]
    public async Task Restart_BootstrapKeyRotatedThenRegenerated_EachChangeIsAnAuditRowWithoutTheKey()
    {
        string directory;
        using (var first = new PkiApiFactory())
        {
            first.CreateClient().Dispose();
            directory = first.DataDirectory;
        }
        using (var rotated = new PkiApiFactory(directory, settings: new Dictionary<string, string?> { ["Admin:BootstrapApiKey"] = RotatedKey }))
        {
            using var oldKey = rotated.CreateAdminClient();
            Assert.Equal(HttpStatusCode.Unauthorized, (await oldKey.GetAsync("/api/v1/api-keys")).StatusCode);
        }
        using var regenerated = new PkiApiFactory(directory, settings: new Dictionary<string, string?> { ["Admin:BootstrapApiKey"] = "" });
        using var client = regenerated.CreateClient();
        var generatedKey = (await File.ReadAllTextAsync(Path.Combine(directory, "admin-api-key"))).Trim();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", generatedKey);

        var audit = await client.GetFromJsonAsync<JsonElement>("/api/v1/audit?action=apikey.bootstrap&pageSize=100");

        var rows = audit.GetProperty("items").EnumerateArray().Reverse().ToList(); // oldest first
        Assert.Equal(3, rows.Count);
        Assert.All(rows, row =>
        {
            Assert.Equal("system", row.GetProperty("actor").GetString());
            Assert.Equal("bootstrap", row.GetProperty("target").GetString());
            Assert.Equal("success", row.GetProperty("outcome").GetString());
        });
        Assert.StartsWith("created from Admin:BootstrapApiKey", rows[0].GetProperty("details").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("replaced by Admin:BootstrapApiKey", rows[1].GetProperty("details").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("replaced by a key generated into admin-api-key", rows[2].GetProperty("details").GetString(), StringComparison.Ordinal);
        var text = audit.GetRawText();
        foreach (var key in new[] { PkiApiFactory.AdminKey, RotatedKey, generatedKey })
        {
            Assert.DoesNotContain(key, text, StringComparison.Ordinal);
        }
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/audit/verify")).StatusCode);
    }

    [Fact]
    public async Task Restart_SameBootstrapKey_AddsNoAuditRow()
    {
        using var first = new PkiApiFactory();
        first.CreateClient().Dispose();
        using var second = new PkiApiFactory(first.DataDirectory);
        using var admin = second.CreateAdminClient();

        var audit = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit?action=apikey.bootstrap");

        Assert.Equal(1, audit.GetProperty("total").GetInt32());
    }

    [Theory]
    [InlineData("pki_ak_short")]
    [InlineData("0123456789abcdef0123456789abcde")] // 31 characters
    public void Start_SuppliedBootstrapKeyUnder32Characters_IsRefusedBeforeAnythingIsWritten(string key)
    {
        using var factory = new PkiApiFactory(settings: new Dictionary<string, string?> { ["Admin:BootstrapApiKey"] = key });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        var messages = string.Join(" | ", ExceptionChain.Of(error).Select(e => e.Message));
        Assert.Contains("Admin:BootstrapApiKey", messages, StringComparison.Ordinal);
        Assert.DoesNotContain(key, messages, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(factory.DataDirectory));
    }

    /// <summary>
    /// Only SQLite and PostgreSQL are built in: any other Database:Provider stops the start with one line naming the
    /// key, before the data directory is touched, instead of silently using SQLite.
    /// </summary>
    [Theory]
    [InlineData("sqlserver")]
    [InlineData("Postgresql")]
    [InlineData("Sqlite\nInjected: second line")]
    public void Start_UnknownDatabaseProvider_IsRefusedWithOneLineNamingTheKeyBeforeAnythingIsWritten(string provider)
    {
        using var factory = new PkiApiFactory(settings: new Dictionary<string, string?> { ["Database:Provider"] = provider });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        var refusal = ExceptionChain.Of(error).OfType<PkiService.Api.Infrastructure.StartupConfigurationException>().Single();
        Assert.StartsWith("Database:Provider '", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("'Sqlite'", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("'Postgres'", refusal.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refusal.Message);
        Assert.Empty(Directory.GetFileSystemEntries(factory.DataDirectory));
    }

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("sqlite")]
    [InlineData("")]
    public async Task Start_SqliteProviderNamedOrDefault_StartsOnTheSqliteFile(string provider)
    {
        using var factory = new PkiApiFactory(settings: new Dictionary<string, string?> { ["Database:Provider"] = provider });
        using var client = factory.CreateClient();

        var ready = await client.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.True(File.Exists(Path.Combine(factory.DataDirectory, "pki.db")));
    }

}
