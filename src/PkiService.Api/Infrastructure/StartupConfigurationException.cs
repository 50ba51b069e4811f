namespace PkiService.Api.Infrastructure;

/// <summary>
/// A setting stops the start (a wrong key passphrase, a bootstrap API key or webhook secret too short, an unknown
/// <c>Database:Provider</c>). The message is one line that names the setting and says how to fix it; <c>Program</c>
/// prints it and exits with code 1, without a stack trace. Thrown before the start changes anything on disk or in the database.
/// </summary>
public sealed class StartupConfigurationException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The process exit code for a start refused by its configuration.</summary>
    public const int ExitCode = 1;
}
