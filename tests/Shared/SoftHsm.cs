using System.Diagnostics;
using System.Runtime.InteropServices;
using PkiService.KeyStore.Pkcs11;
using Xunit;

namespace PkiService.Tests.Shared;

/// <summary>
/// Throwaway SoftHSM2 tokens for the tests: a temporary token directory and a softhsm2.conf pointing at it, with
/// <c>SOFTHSM2_CONF</c> set for this process before the module is first loaded (SoftHSM2 reads it in C_Initialize);
/// each test makes its own token with <c>softhsm2-util --init-token --free</c>. Deleted at the end of the run.
/// Missing SoftHSM2 (or OpenSC's pkcs11-tool) fails the tests under <c>CI=true</c> and skips them otherwise.
/// </summary>
public sealed class SoftHsm : IDisposable
{
    /// <summary>Debian's SoftHSM2 module (package softhsm2).</summary>
    public const string LibraryPath = "/usr/lib/softhsm/libsofthsm2.so";

    public const string Pin = "user-pin-4711";

    private const string SoPin = "so-pin-0815";

    private readonly string? _root;
    private readonly string? _missing;
    private int _tokens;

    public SoftHsm()
    {
        SoftHsmUtil = FindOnPath("softhsm2-util");
        Pkcs11Tool = FindOnPath("pkcs11-tool");
        if (SoftHsmUtil is null || !File.Exists(LibraryPath))
        {
            _missing = $"SoftHSM2 is not installed (softhsm2-util on PATH and {LibraryPath}); install it with 'apt-get install softhsm2'.";
            return;
        }
        _root = Directory.CreateTempSubdirectory("pki-softhsm-").FullName;
        var tokens = Directory.CreateDirectory(Path.Combine(_root, "tokens")).FullName;
        ConfigPath = Path.Combine(_root, "softhsm2.conf");
        File.WriteAllText(ConfigPath, $"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n");
        // The module reads its configuration with getenv(3); .NET's Environment.SetEnvironmentVariable changes only
        // the runtime's own copy on Unix, so set the process environment itself.
        Environment.SetEnvironmentVariable("SOFTHSM2_CONF", ConfigPath);
        if (SetEnv("SOFTHSM2_CONF", ConfigPath, 1) != 0)
        {
            throw new InvalidOperationException($"setenv(SOFTHSM2_CONF) failed: {Marshal.GetLastPInvokeError()}");
        }
    }

#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code in this project for one call
    [DllImport("libc", EntryPoint = "setenv", SetLastError = true)]
    private static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);
#pragma warning restore SYSLIB1054

    public string? SoftHsmUtil { get; }

    public string? Pkcs11Tool { get; }

    public string? ConfigPath { get; }

    /// <summary>Skips (or fails under CI=true) when SoftHSM2 is missing.</summary>
    public void Require() => RequireTool(_missing);

    /// <summary>Skips (or fails under CI=true) when OpenSC's pkcs11-tool is missing.</summary>
    public void RequirePkcs11Tool() =>
        RequireTool(Pkcs11Tool is null ? "pkcs11-tool is not installed (not found on PATH); install it with 'apt-get install opensc'." : null);

    /// <summary>The path of openssl; skips (or fails under CI=true) when it is missing.</summary>
    public static string Openssl()
    {
        var path = FindOnPath("openssl");
        RequireTool(path is null ? "openssl is not installed (not found on PATH); install it with 'apt-get install openssl'." : null);
        return path!;
    }

    /// <summary>Initialises a fresh token in a free slot (user PIN <see cref="Pin"/>) and returns its label.</summary>
    public string CreateToken()
    {
        Require();
        var label = $"pki-test-{Interlocked.Increment(ref _tokens)}-{Guid.NewGuid().ToString("N")[..8]}";
        Run(SoftHsmUtil!, "--init-token", "--free", "--label", label, "--pin", Pin, "--so-pin", SoPin);
        return label;
    }

    /// <summary>Options for the token <paramref name="label"/>.</summary>
    public static Pkcs11Options Options(string label, int sessionPoolSize = 8, string? pin = null, string? library = null) => new()
    {
        Library = library ?? LibraryPath,
        TokenLabel = label,
        Pin = pin ?? Pin,
        SessionPoolSize = sessionPoolSize,
    };

    /// <summary>Runs a tool with SOFTHSM2_CONF set; returns its standard output, throws on a non-zero exit.</summary>
    public string Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["SOFTHSM2_CONF"] = ConfigPath;
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} exited {process.ExitCode}: {error.Result}{output}");
        }
        return output;
    }

    public void Dispose()
    {
        if (_root is not null)
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static void RequireTool(string? missing)
    {
        if (missing is null)
        {
            return;
        }
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail($"CI=true and {missing}");
        }
        Skip.If(true, missing);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
}

/// <summary>All SoftHSM2 tests share one token directory (one SOFTHSM2_CONF per process) and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class SoftHsmCollection : ICollectionFixture<SoftHsm>
{
    public const string Name = "SoftHSM2";
}
