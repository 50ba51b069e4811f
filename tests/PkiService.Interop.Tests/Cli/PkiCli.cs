using System.Reflection;
using System.Security.Cryptography;
using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Cli;

/// <summary>
/// The built <c>pki</c> tool (<c>PkiService.Cli.dll</c>), run as its own process with <c>dotnet</c>, with a config file
/// and HOME of its own in <paramref name="work"/> (so nothing touches the real ~/.config/pki).
/// </summary>
public sealed class PkiCli(TempDirectory work)
{
    /// <summary>Overrides where the CLI assembly is (otherwise the path recorded at build time is used).</summary>
    public const string AssemblyPathVariable = "PKISERVICE_CLI_DLL";

    public string ConfigPath => work.File("config.json");

    /// <summary>Runs <c>pki</c> with <paramref name="arguments"/> and <c>--config</c> added, PKI_API_KEY unset unless given.</summary>
    public Task<CommandResult> RunAsync(IEnumerable<string> arguments, string? apiKey = null, IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        var env = new Dictionary<string, string?>(Environment(apiKey));
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            env[name] = value;
        }
        return ExternalCommand.RunAsync(ServiceProcess.DotnetHost(), [FindAssembly(), .. arguments, "--config", ConfigPath],
            work.Path, timeout ?? TimeSpan.FromSeconds(90), env);
    }

    public Task<CommandResult> RunAsync(params string[] arguments) => RunAsync(arguments, apiKey: null);

    /// <summary>Starts <c>pki</c> in the background (the daemon).</summary>
    public BackgroundProcess Start(params string[] arguments) =>
        BackgroundProcess.Start(ServiceProcess.DotnetHost(), [FindAssembly(), .. arguments, "--config", ConfigPath], work.Path, Environment(null));

    /// <summary>bootstrap against <paramref name="service"/> with the right fingerprint, renewal at its mTLS listener.</summary>
    public async Task BootstrapAsync(ServiceProcess service)
    {
        var root = await service.Api.Http.GetByteArrayAsync("pki/root.crt");
        (await RunAsync("bootstrap", "--url", service.PublicBaseUrl, "--fingerprint", Convert.ToHexStringLower(SHA256.HashData(root)),
            "--mtls-url", service.MtlsAddress.ToString())).EnsureSuccess();
    }

    private IReadOnlyDictionary<string, string?> Environment(string? apiKey) => new Dictionary<string, string?>
    {
        ["HOME"] = work.Path,
        ["PKI_API_KEY"] = apiKey,
        ["PKI_TOKEN"] = null,
    };

    public static string FindAssembly()
    {
        var path = System.Environment.GetEnvironmentVariable(AssemblyPathVariable);
        if (string.IsNullOrEmpty(path))
        {
            path = typeof(PkiCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "PkiCliPath")?.Value;
        }
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            throw new InvalidOperationException($"PkiService.Cli.dll not found (looked at '{path}'). Build the solution, or set {AssemblyPathVariable}.");
        }
        return path;
    }
}
