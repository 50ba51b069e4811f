using System.Net;
using System.Net.Http.Headers;
using Microsoft.Data.Sqlite;
using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Startup;

/// <summary>
/// A start refused by its configuration, as an operator sees it: the real process exits with code 1 after one line that
/// names the setting, without a stack trace or an abort, and leaves the data directory's API keys as they were.
/// </summary>
[Collection(ServiceCollection.Name)] // not the shared service: its own, restarted with bad settings
public sealed class StartupConfigurationTests : IAsyncLifetime
{
    private static readonly TimeSpan ExitWithin = TimeSpan.FromSeconds(60);

    private readonly ServiceProcess _service = new();

    public Task InitializeAsync() => _service.InitializeAsync();

    public Task DisposeAsync() => _service.DisposeAsync();

    [Fact]
    public async Task Restart_WithWrongPassphrase_ExitsWithCode1AndOneLineAndLeavesTheApiKeysAsTheyWere()
    {
        var keyFile = Path.Combine(_service.DataDirectory, "admin-api-key");
        _service.Kill();
        var rowsBefore = ApiKeyRows();

        // Without Admin:BootstrapApiKey, the old start wrote a new admin-api-key and replaced the bootstrap key first.
        var (exitCode, output) = await _service.RunUntilExitAsync(
            new Dictionary<string, string?> { ["Pki:KeyPassphrase"] = "not the passphrase", ["Admin:BootstrapApiKey"] = null }, ExitWithin);

        AssertRefused(exitCode, output, "Pki:KeyPassphrase");
        Assert.DoesNotContain("not the passphrase", output, StringComparison.Ordinal);
        Assert.False(File.Exists(keyFile), "the refused start wrote admin-api-key");
        Assert.Equal(rowsBefore, ApiKeyRows());

        await _service.RestartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/v1/api-keys");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ServiceProcess.AdminApiKey);
        Assert.Equal(HttpStatusCode.OK, (await _service.Api.Http.SendAsync(request)).StatusCode);
    }

    [Theory]
    [InlineData("Admin:BootstrapApiKey", "pki_ak_too-short", null, null)]
    [InlineData("Notifications:Webhook:Secret", null, "http://127.0.0.1:9/hooks", null)]
    [InlineData("Notifications:Webhook:Secret", null, "http://127.0.0.1:9/hooks", "not-32-bytes")]
    public async Task Restart_WithRefusedSetting_ExitsWithCode1AndOneLineNamingIt(string setting, string? bootstrapKey, string? webhookUrl, string? webhookSecret)
    {
        _service.Kill();
        var rowsBefore = ApiKeyRows();
        var overrides = new Dictionary<string, string?> { ["Notifications:Webhook:Url"] = webhookUrl, ["Notifications:Webhook:Secret"] = webhookSecret };
        if (bootstrapKey is not null)
        {
            overrides["Admin:BootstrapApiKey"] = bootstrapKey;
        }

        var (exitCode, output) = await _service.RunUntilExitAsync(overrides, ExitWithin);

        AssertRefused(exitCode, output, setting);
        if (bootstrapKey is not null)
        {
            Assert.DoesNotContain(bootstrapKey, output, StringComparison.Ordinal);
        }
        Assert.Equal(rowsBefore, ApiKeyRows());
    }

    /// <summary>Only SQLite is built in today: an operator who asks for another provider learns it from one line, exit code 1.</summary>
    [Fact]
    public async Task Restart_WithUnknownDatabaseProvider_ExitsWithCode1AndOneLineNamingIt()
    {
        _service.Kill();
        var rowsBefore = ApiKeyRows();

        var (exitCode, output) = await _service.RunUntilExitAsync(new Dictionary<string, string?> { ["Database:Provider"] = "Postgres" }, ExitWithin);

        AssertRefused(exitCode, output, "Database:Provider");
        Assert.Equal(rowsBefore, ApiKeyRows());
    }

    private static void AssertRefused(int? exitCode, string output, string setting)
    {
        Assert.True(exitCode == 1, $"exit code {exitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none (still running)"}, expected 1\n{output}");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Count(l => l.Contains(setting, StringComparison.Ordinal)) == 1, $"expected one line naming {setting}:\n{output}");
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.StartsWith("at ", StringComparison.Ordinal)); // no stack trace
    }

    /// <summary>Every column of every API key row, read straight from the database file.</summary>
    private List<string> ApiKeyRows()
    {
        var connection = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(_service.DataDirectory, "pki.db"),
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        };
        using var db = new SqliteConnection(connection.ToString());
        db.Open();
        using var command = db.CreateCommand();
        command.CommandText = "SELECT * FROM ApiKeys ORDER BY Id";
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(string.Join('|', Enumerable.Range(0, reader.FieldCount).Select(i =>
                reader.IsDBNull(i) ? "null" : reader.GetValue(i) is byte[] bytes ? Convert.ToHexString(bytes) : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
        }
        Assert.NotEmpty(rows);
        return rows;
    }
}
