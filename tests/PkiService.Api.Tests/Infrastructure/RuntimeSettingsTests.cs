using System.Text.Json;

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
}
