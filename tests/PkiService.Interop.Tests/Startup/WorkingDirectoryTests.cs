using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Startup;

/// <summary>
/// <c>dotnet /opt/pkiservice/PkiService.Api.dll</c> started from another directory (as from <c>/</c>) still reads the
/// <c>appsettings.json</c> beside the assembly: its log levels apply (Microsoft.AspNetCore at Warning, so requests are
/// not logged), and the content root is the assembly's directory.
/// </summary>
[Collection(ServiceCollection.Name)] // not the shared service: its own, started from another working directory
public sealed class WorkingDirectoryTests : IAsyncLifetime
{
    private readonly TempDirectory _elsewhere = new("pki-interop-cwd-");
    private ServiceProcess _service = null!;

    public Task InitializeAsync()
    {
        _service = new ServiceProcess { WorkingDirectory = _elsewhere.Path };
        return _service.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        _elsewhere.Dispose();
    }

    [Fact]
    public async Task Start_FromAnotherWorkingDirectory_AppSettingsJsonIsInForce()
    {
        for (var i = 0; i < 3; i++)
        {
            (await _service.Api.Http.GetAsync("pki/ca.pem")).EnsureSuccessStatusCode();
        }
        await Task.Delay(TimeSpan.FromSeconds(1)); // the console logger writes from its own queue

        var output = _service.Output;
        var assemblyDirectory = Path.GetDirectoryName(ServiceProcess.FindServiceAssembly())!;
        Assert.Contains($"Content root path: {assemblyDirectory}", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Request starting", output, StringComparison.Ordinal);
        Assert.DoesNotContain("pki/ca.pem", output, StringComparison.Ordinal);
    }
}
