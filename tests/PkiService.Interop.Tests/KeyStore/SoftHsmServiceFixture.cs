using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.KeyStore;

/// <summary>
/// A throwaway SoftHSM2 token (its own token directory and softhsm2.conf, made with <c>softhsm2-util --init-token</c>)
/// and the real service process with <c>Pki:KeyStore=Pkcs11</c> on it: <c>SOFTHSM2_CONF</c> goes into the child
/// process's environment (the module reads it with getenv(3) in C_Initialize), the Pkcs11 settings on its command line.
/// Missing softhsm2-util or the module fails the tests under <c>CI=true</c> and skips them otherwise.
/// </summary>
public sealed class SoftHsmServiceFixture : IAsyncLifetime
{
    /// <summary>Debian's SoftHSM2 module (package softhsm2).</summary>
    public const string LibraryPath = "/usr/lib/softhsm/libsofthsm2.so";

    public const string TokenLabel = "pki-interop";

    public const string Pin = "interop-user-pin-4711";

    private const string SoPin = "interop-so-pin-0815";

    private readonly TempDirectory _tokenDirectory = new("pki-interop-softhsm-");

    /// <summary>The path of the softhsm2.conf <c>SOFTHSM2_CONF</c> names.</summary>
    public string ConfigPath => _tokenDirectory.File("softhsm2.conf");

    /// <summary>The service on the token; null when SoftHSM2 is missing (each test then skips or fails through <see cref="Require"/>).</summary>
    public ServiceProcess? Service { get; private set; }

    /// <summary>Why the fixture could not start (a tool missing), checked by every test.</summary>
    private Action? _missing;

    public async Task InitializeAsync()
    {
        if (!HasTool("softhsm2-util") || !File.Exists(LibraryPath))
        {
            _missing = () =>
            {
                RequiredTool.SoftHsm2Util();
                RequiredTool.RequireCapability(File.Exists(LibraryPath), $"the SoftHSM2 module {LibraryPath} is missing; install it with 'apt-get install softhsm2'.");
            };
            return;
        }
        var tokens = Directory.CreateDirectory(_tokenDirectory.File("tokens")).FullName;
        await File.WriteAllTextAsync(ConfigPath, $"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n");
        (await RunToolAsync("softhsm2-util", "--init-token", "--free", "--label", TokenLabel, "--pin", Pin, "--so-pin", SoPin)).EnsureSuccess();
        Service = new ServiceProcess
        {
            Settings = Settings,
            Environment = new Dictionary<string, string?> { ["SOFTHSM2_CONF"] = ConfigPath },
        };
        await Service.InitializeAsync();
    }

    /// <summary>The configuration that puts the CA keys in the token.</summary>
    public static IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Pki:KeyStore"] = "Pkcs11",
        ["Pkcs11:Library"] = LibraryPath,
        ["Pkcs11:TokenLabel"] = TokenLabel,
        ["Pkcs11:Pin"] = Pin,
    };

    /// <summary>Skips (or fails under CI=true) when SoftHSM2 is missing; returns the running service otherwise.</summary>
    public ServiceProcess Require()
    {
        _missing?.Invoke();
        return Service!;
    }

    /// <summary>Runs a tool (softhsm2-util, pkcs11-tool) with <c>SOFTHSM2_CONF</c> set to this token directory.</summary>
    public Task<CommandResult> RunToolAsync(string tool, params string[] arguments) =>
        ExternalCommand.RunAsync(tool, arguments, environment: new Dictionary<string, string?> { ["SOFTHSM2_CONF"] = ConfigPath });

    public async Task DisposeAsync()
    {
        if (Service is not null)
        {
            await Service.DisposeAsync();
        }
        _tokenDirectory.Dispose();
    }

    private static bool HasTool(string name) =>
        (System.Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, name)));
}
