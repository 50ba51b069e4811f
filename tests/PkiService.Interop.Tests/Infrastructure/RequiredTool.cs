namespace PkiService.Interop.Tests.Infrastructure;

/// <summary>
/// The external tool policy: a test that needs a tool FAILS when the tool is missing and <c>CI=true</c>
/// (CI must install it), and is SKIPPED with the reason otherwise (a developer machine may lack it).
/// </summary>
public static class RequiredTool
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static string Openssl() => Require("openssl", FindOnPath("openssl"), "apt-get install openssl");

    public static string Curl() => Require("curl", FindOnPath("curl"), "apt-get install curl");

    /// <summary>GnuTLS <c>ocsptool</c>.</summary>
    public static string Ocsptool() => Require("ocsptool", FindOnPath("ocsptool"), "apt-get install gnutls-bin");

    /// <summary>nginx (Debian installs it in /usr/sbin, which a non-root PATH may lack).</summary>
    public static string Nginx() =>
        Require("nginx", FindOnPath("nginx") ?? (File.Exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : null), "apt-get install nginx-light");
    public static string Jq() => Require("jq", FindOnPath("jq"), "apt-get install jq");

    /// <summary>SoftHSM2's <c>softhsm2-util</c> (Debian package softhsm2).</summary>
    public static string SoftHsm2Util() => Require("softhsm2-util", FindOnPath("softhsm2-util"), "apt-get install softhsm2");

    /// <summary>OpenSC's <c>pkcs11-tool</c>.</summary>
    public static string Pkcs11Tool() => Require("pkcs11-tool", FindOnPath("pkcs11-tool"), "apt-get install opensc");

    public static string Chromium() =>
        Require("chromium", File.Exists(ChromiumPath) ? ChromiumPath : null, "apt-get install chromium");

    /// <summary>Fails under CI, skips otherwise, when a tool is present but cannot do what the test needs.</summary>
    public static void RequireCapability(bool capable, string reason)
    {
        if (capable)
        {
            return;
        }
        if (IsCi)
        {
            Assert.Fail($"CI=true and {reason}");
        }
        Skip.If(true, reason);
    }

    private static string Require(string tool, string? path, string install)
    {
        if (path is not null)
        {
            return path;
        }
        var reason = $"{tool} is not installed (not found{(tool == "chromium" ? $" at {ChromiumPath}" : " on PATH")}); install it with '{install}'.";
        if (IsCi)
        {
            Assert.Fail($"CI=true and {reason}");
        }
        Skip.If(true, reason);
        return null!; // unreachable: Skip.If throws
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
}
