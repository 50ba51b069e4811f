using System.Reflection;

namespace PkiService.Interop.Tests.Infrastructure;

/// <summary>
/// The built PkiService.SampleApi, run as a real process (<c>dotnet PkiService.SampleApi.dll</c>) against a running
/// <see cref="ServiceProcess"/>: HTTPS with client certificates on <see cref="HttpsAddress"/> (its server certificate
/// enrolled from a <c>server</c>-profile token for localhost and 127.0.0.1) and plain HTTP on <see cref="HttpAddress"/>,
/// where a health probe without a client certificate reads <c>/health</c>.
/// </summary>
public sealed class SampleApiProcess : IDisposable
{
    /// <summary>Overrides where the sample assembly is (otherwise the path recorded at build time is used).</summary>
    public const string AssemblyPathVariable = "PKISERVICE_SAMPLEAPI_DLL";

    /// <summary>The prefix the <c>admins</c> policy allows in these tests.</summary>
    public const string AdminsPrefix = "spiffe://example.org/admin/";

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);

    private readonly BackgroundProcess _process;

    private SampleApiProcess(BackgroundProcess process, Uri https, Uri http, string token)
    {
        _process = process;
        EnrollmentToken = token;
        HttpsAddress = https;
        HttpAddress = http;
    }

    public Uri HttpsAddress { get; }

    public Uri HttpAddress { get; }

    public int Id => _process.Id;

    /// <summary>The token it was started with (used by now), so a test can show it is never printed.</summary>
    public string EnrollmentToken { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>What it printed so far (without the command line, which holds the token).</summary>
    public string Output => _process.Output;

    /// <summary>
    /// Creates a <c>server</c> token on <paramref name="service"/> and starts the sample with it, the service's root
    /// fingerprint and <paramref name="settings"/> (<c>PkiClient:…</c> keys, which override the defaults); waits until it listens.
    /// </summary>
    public static async Task<SampleApiProcess> StartAsync(ServiceProcess service, IReadOnlyDictionary<string, string>? settings = null)
    {
        var rootPem = await service.Api.GetTextAsync("pki/root.pem");
        var fingerprint = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
            System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(rootPem).RawData));
        var token = await service.Api.CreateEnrollmentTokenAsync("localhost", ["localhost", "127.0.0.1"], profile: "server");
        var https = new Uri($"https://127.0.0.1:{Network.FreeLoopbackPort()}/");
        var http = new Uri($"http://127.0.0.1:{Network.FreeLoopbackPort()}/");
        var all = new Dictionary<string, string>
        {
            ["PkiClient:ServiceUrl"] = service.PublicBaseUrl,
            ["PkiClient:RootFingerprint"] = fingerprint,
            ["PkiClient:EnrollmentToken"] = token,
            ["PkiClient:RenewalUrl"] = service.MtlsAddress.ToString().TrimEnd('/'),
            ["PkiClient:Authorization:admins:SpiffePrefix:0"] = AdminsPrefix,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            all[key] = value;
        }
        var assembly = FindAssembly();
        var process = BackgroundProcess.Start(
            DotnetHost(),
            [assembly, "--urls", $"{https.ToString().TrimEnd('/')};{http.ToString().TrimEnd('/')}", .. all.Select(s => $"--{s.Key}={s.Value}")],
            workingDirectory: Path.GetDirectoryName(assembly),
            environment: new Dictionary<string, string?> { ["ASPNETCORE_URLS"] = null, ["ASPNETCORE_ENVIRONMENT"] = "Production" });
        var sample = new SampleApiProcess(process, https, http, token);
        if (!await Wait.UntilAsync(() => process.HasExited || process.Output.Contains("Application started", StringComparison.Ordinal), ReadyTimeout)
            || process.HasExited)
        {
            var output = process.Output;
            sample.Dispose();
            throw new InvalidOperationException($"PkiService.SampleApi did not start within {ReadyTimeout}:\n{output}");
        }
        return sample;
    }

    public void Dispose() => _process.Dispose();

    /// <summary>The dotnet host running these tests (set by the SDK), so the sample runs on the same runtime.</summary>
    private static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrEmpty(host) && File.Exists(host) ? host : "dotnet";
    }

    /// <summary>The sample assembly: <c>PKISERVICE_SAMPLEAPI_DLL</c> if set, else the path MSBuild recorded at build time.</summary>
    public static string FindAssembly()
    {
        var path = Environment.GetEnvironmentVariable(AssemblyPathVariable);
        if (string.IsNullOrEmpty(path))
        {
            path = typeof(SampleApiProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "PkiServiceSampleApiPath")?.Value;
        }
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            throw new InvalidOperationException(
                $"PkiService.SampleApi.dll not found (looked at '{path}'). Build the solution, or set {AssemblyPathVariable} to the built assembly.");
        }
        return path;
    }
}
