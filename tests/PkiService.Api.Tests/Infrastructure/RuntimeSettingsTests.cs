using System.Text.Json;
using Microsoft.Extensions.Configuration;
using PkiService.Api.Infrastructure;

namespace PkiService.Api.Tests.Infrastructure;

/// <summary>
/// The runtime settings the service ships with (issue 16, OCSP on a new connection per request): they are in the
/// service's own <c>PkiService.Api.runtimeconfig.json</c>, which <c>dotnet PkiService.Api.dll</c> reads at start.
/// </summary>
public sealed class RuntimeSettingsTests
{
    [Fact]
    public void RuntimeConfig_ServiceAsBuilt_UsesWorkstationGarbageCollector()
    {
        var path = Path.Combine(Path.GetDirectoryName(typeof(Program).Assembly.Location)!, "PkiService.Api.runtimeconfig.json");
        using var config = JsonDocument.Parse(File.ReadAllText(path));

        var properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        Assert.True(properties.TryGetProperty("System.GC.Server", out var serverGc), "System.GC.Server is not set in " + path);
        Assert.False(serverGc.GetBoolean());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Sqlite")]
    [InlineData("sqlite")]
    public void PreferInline_VariableUnsetOnSqlite_TurnsInlineSocketCompletionsOn(string? provider)
    {
        var (value, after) = PreferInlineWith(variable: null, provider);

        Assert.Equal("1", value);
        Assert.Equal("1", after);
    }

    [Fact]
    public void PreferInline_VariableUnsetOnPostgres_LeavesTheRuntimeDefault()
    {
        var (value, after) = PreferInlineWith(variable: null, "Postgres");

        Assert.Null(value);
        Assert.Null(after);
    }

    [Theory]
    [InlineData("0", "Sqlite")]
    [InlineData("1", "Postgres")]
    public void PreferInline_OperatorSetTheVariable_KeepsTheOperatorsValue(string variable, string provider)
    {
        var (value, after) = PreferInlineWith(variable, provider);

        Assert.Equal(variable, value);
        Assert.Equal(variable, after);
    }

    /// <summary>Runs <see cref="SocketCompletions.PreferInline"/> with the variable and provider given, then restores the variable.</summary>
    private static (string? Value, string? After) PreferInlineWith(string? variable, string? provider)
    {
        var before = Environment.GetEnvironmentVariable(SocketCompletions.InlineVariable);
        try
        {
            Environment.SetEnvironmentVariable(SocketCompletions.InlineVariable, variable);
            var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?> { ["Database:Provider"] = provider })
                .Build();
            var value = SocketCompletions.PreferInline(configuration);
            return (value, Environment.GetEnvironmentVariable(SocketCompletions.InlineVariable));
        }
        finally
        {
            Environment.SetEnvironmentVariable(SocketCompletions.InlineVariable, before);
        }
    }
}
