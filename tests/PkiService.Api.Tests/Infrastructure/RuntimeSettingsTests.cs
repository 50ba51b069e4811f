using System.Text.Json;
using PkiService.Api.Infrastructure;
using PkiService.Api.Tests.Support;

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

    [Fact]
    public void PreferInline_VariableUnset_TurnsInlineSocketCompletionsOn()
    {
        var before = Environment.GetEnvironmentVariable(SocketCompletions.InlineVariable);
        try
        {
            Environment.SetEnvironmentVariable(SocketCompletions.InlineVariable, null);

            SocketCompletions.PreferInline();

            Assert.Equal("1", Environment.GetEnvironmentVariable(SocketCompletions.InlineVariable));
        }
        finally
        {
            Environment.SetEnvironmentVariable(SocketCompletions.InlineVariable, before);
        }
    }

    [Fact]
    public void PreferInline_OperatorSetZero_KeepsTheOperatorsValue()
    {
        var before = Environment.GetEnvironmentVariable(SocketCompletions.InlineVariable);
        try
        {
            Environment.SetEnvironmentVariable(SocketCompletions.InlineVariable, "0");

            SocketCompletions.PreferInline();

            Assert.Equal("0", Environment.GetEnvironmentVariable(SocketCompletions.InlineVariable));
        }
        finally
        {
            Environment.SetEnvironmentVariable(SocketCompletions.InlineVariable, before);
        }
    }

    [Fact]
    public async Task Start_Host_InlineSocketCompletionsSetBeforeTheHostIsBuilt()
    {
        using var factory = new PkiApiFactory();
        using var client = factory.CreateClient();

        using var response = await client.GetAsync("/health/live");

        Assert.True(response.IsSuccessStatusCode);
        Assert.NotNull(Environment.GetEnvironmentVariable(SocketCompletions.InlineVariable));
    }
}
