using System.Reflection;

namespace PkiService.Interop.Tests.Infrastructure;

/// <summary>
/// The built PkiService.Api, run as a real process (<c>dotnet PkiService.Api.dll</c>) on a free loopback port with a
/// fresh data directory and a known admin API key. Shared by every test in <see cref="ServiceCollection"/>; a test class
/// that must control the service's state (CRL numbers, restarts) creates its own instance.
/// </summary>
public sealed class ServiceProcess : IAsyncLifetime
{
    public const string AdminApiKey = "pki_ak_interop-tests-admin-key-0123456789";

    /// <summary>The <c>Pki:KeyPassphrase</c> the CA keys are encrypted with.</summary>
    public const string KeyPassphrase = "interop-tests-passphrase";

    /// <summary>Overrides where the service assembly is (otherwise the path recorded at build time is used).</summary>
    public const string AssemblyPathVariable = "PKISERVICE_API_DLL";

    private const int StartAttempts = 3;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);

    private readonly TempDirectory _dataDirectory = new("pki-interop-data-");
    private readonly System.Text.StringBuilder _earlierOutput = new();
    private BackgroundProcess? _process;

    /// <summary>
    /// Extra configuration, passed as <c>--Key=Value</c> after the defaults (so it can override them), at every start
    /// and restart. Set it when the instance is created: <c>new ServiceProcess { Settings = ... }</c>.
    /// </summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Extra environment variables of the service process, at every start and restart (e.g. <c>SOFTHSM2_CONF</c>,
    /// which a PKCS#11 module reads with getenv(3) and so must be in the process's own environment).
    /// </summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>The working directory of the service process; unset, the directory of the service assembly.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>The data directory every start and restart of this instance uses.</summary>
    public string DataDirectory => _dataDirectory.Path;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The mTLS renewal listener (<c>Pki:MtlsUrl</c>), on its own free loopback port.</summary>
    public Uri MtlsAddress { get; private set; } = null!;

    /// <summary>The <c>Pki:PublicBaseUrl</c> the service writes into CDP and AIA extensions (no trailing slash).</summary>
    public string PublicBaseUrl => BaseAddress.ToString().TrimEnd('/');

    public PkiApiClient Api { get; private set; } = null!;

    /// <summary>The operating-system id of the running service process (null when it is not running).</summary>
    public int? ProcessId => _process is { HasExited: false } running ? running.Id : null;

    /// <summary>What the service printed so far, for assertion messages (with the command line, which holds secrets).</summary>
    public string Log => _process?.Describe() ?? "(not started)";

    /// <summary>Everything the service processes printed on stdout and stderr, across restarts, without the command line.</summary>
    public string Output
    {
        get
        {
            lock (_earlierOutput)
            {
                return _earlierOutput + (_process?.Output ?? string.Empty);
            }
        }
    }

    public Task InitializeAsync() => StartAsync(preferredPort: null);

    /// <summary>
    /// Kills the service (as a crash would: no graceful shutdown) and starts it again on the same data directory, on
    /// the same port when it is still free (so <see cref="PublicBaseUrl"/> and the URLs in issued certificates stay
    /// valid), else on a new one. <see cref="Api"/> is replaced.
    /// </summary>
    public async Task RestartAsync()
    {
        var port = BaseAddress.Port;
        Kill();
        await StartAsync(port);
    }

    /// <summary>
    /// Kills the service with SIGKILL (<see cref="System.Diagnostics.Process.Kill(bool)"/>): no shutdown hooks, no flush, open
    /// transactions cut mid-way. A following <see cref="RestartAsync"/> starts it again on the same data directory.
    /// </summary>
    public void Kill()
    {
        Api?.Dispose();
        StopProcess();
    }

    public Task DisposeAsync()
    {
        Api?.Dispose();
        StopProcess();
        _dataDirectory.Dispose();
        return Task.CompletedTask;
    }

    private async Task StartAsync(int? preferredPort)
    {
        var assembly = FindServiceAssembly();
        for (var attempt = 1; ; attempt++)
        {
            var port = attempt == 1 && preferredPort is { } preferred ? preferred : Network.FreeLoopbackPort();
            BaseAddress = new Uri($"http://127.0.0.1:{port}/");
            MtlsAddress = new Uri($"https://127.0.0.1:{Network.FreeLoopbackPort()}/");
            _process = StartProcess(assembly, overrides: null);
            if (await WaitUntilReadyAsync())
            {
                break;
            }
            var failure = _process.Describe();
            StopProcess();
            // Another process may have taken the port between probing and binding: try a new one.
            if (attempt == StartAttempts || !failure.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"PkiService did not become ready at {BaseAddress}health/ready within {ReadyTimeout}.\n{failure}");
            }
        }
        Api = new PkiApiClient(new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) }, AdminApiKey);
    }

    /// <summary>
    /// Kills the running service, then starts it once more on the same data directory and port with
    /// <paramref name="overrides"/> over the usual settings (a null value leaves that setting out), and waits up to
    /// <paramref name="timeout"/> for it to exit, as a refused start does. Returns its exit code (null if it was still
    /// running and was killed) and what it printed. <see cref="RestartAsync"/> starts it normally again afterwards.
    /// </summary>
    public async Task<(int? ExitCode, string Output)> RunUntilExitAsync(IReadOnlyDictionary<string, string?> overrides, TimeSpan timeout)
    {
        Kill();
        var process = StartProcess(FindServiceAssembly(), overrides);
        using var wait = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            // still running: killed below, reported as null
        }
        var exitCode = process.ExitCode;
        _process = process;
        StopProcess();
        return (exitCode, process.Output);
    }

    private BackgroundProcess StartProcess(string assembly, IReadOnlyDictionary<string, string?>? overrides)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Pki:DataDirectory"] = _dataDirectory.Path,
            ["Pki:PublicBaseUrl"] = PublicBaseUrl,
            ["Pki:KeyPassphrase"] = KeyPassphrase,
            ["Admin:BootstrapApiKey"] = AdminApiKey,
            ["Pki:MtlsUrl"] = MtlsAddress.ToString().TrimEnd('/'),
        };
        foreach (var (key, value) in Settings)
        {
            settings[key] = value;
        }
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        return BackgroundProcess.Start(
            DotnetHost(),
            [
                assembly,
                "--urls", PublicBaseUrl,
                .. settings.Where(setting => setting.Value is not null).Select(setting => $"--{setting.Key}={setting.Value}"),
            ],
            workingDirectory: WorkingDirectory ?? Path.GetDirectoryName(assembly),
            environment: new Dictionary<string, string?>(Environment)
            {
                ["ASPNETCORE_URLS"] = null,
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
            });
    }

    /// <summary>Kills the current process and keeps what it printed for <see cref="Output"/>.</summary>
    private void StopProcess()
    {
        if (_process is null)
        {
            return;
        }
        _process.Dispose();
        lock (_earlierOutput)
        {
            _earlierOutput.Append(_process.Output);
            _process = null;
        }
    }

    private async Task<bool> WaitUntilReadyAsync()
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + ReadyTimeout;
        while (DateTime.UtcNow < deadline && !_process!.HasExited)
        {
            try
            {
                using var response = await http.GetAsync("health/ready");
                if (response.IsSuccessStatusCode)
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            catch (TaskCanceledException)
            {
                // slow first answer
            }
            await Task.Delay(200);
        }
        return false;
    }

    /// <summary>
    /// The service assembly: <c>PKISERVICE_API_DLL</c> if set, else the path MSBuild resolved for the
    /// <c>ReferenceOutputAssembly=false</c> project reference when this test assembly was built.
    /// </summary>
    public static string FindServiceAssembly()
    {
        var path = System.Environment.GetEnvironmentVariable(AssemblyPathVariable);
        if (string.IsNullOrEmpty(path))
        {
            path = typeof(ServiceProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "PkiServiceApiPath")?.Value;
        }
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            throw new InvalidOperationException(
                $"PkiService.Api.dll not found (looked at '{path}'). Build the solution, or set {AssemblyPathVariable} to the built assembly.");
        }
        return path;
    }

    /// <summary>The dotnet host running these tests (set by the SDK), so the service runs on the same runtime.</summary>
    internal static string DotnetHost()
    {
        var host = System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrEmpty(host) && File.Exists(host) ? host : "dotnet";
    }
}

/// <summary>Every test that talks to the service shares one process; the tests in it run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class ServiceCollection : ICollectionFixture<ServiceProcess>
{
    public const string Name = "PkiService process";
}
