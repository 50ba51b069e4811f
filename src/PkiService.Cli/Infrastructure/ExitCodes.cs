namespace PkiService.Cli.Infrastructure;

/// <summary>The exit codes of every <c>pki</c> command (issue 15).</summary>
public static class ExitCodes
{
    /// <summary>Done; for <c>status</c>: the certificate is good.</summary>
    public const int Ok = 0;

    /// <summary>The server refused (an HTTP 4xx/5xx answer), or <c>status</c> found the certificate not good.</summary>
    public const int Refused = 1;

    /// <summary>The command line, a local file or the configuration is wrong.</summary>
    public const int Usage = 2;

    /// <summary>The service could not be reached, or what it sent is not trusted (fingerprint, chain, key).</summary>
    public const int NetworkOrTrust = 3;
}

/// <summary>A failure that ends the command with <see cref="ExitCode"/> and a one-line message on stderr.</summary>
public sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    /// <summary>The HTTP status of a refusal, when the server answered one.</summary>
    public System.Net.HttpStatusCode? Status { get; init; }

    public static CliException Usage(string message) => new(ExitCodes.Usage, message);

    public static CliException Trust(string message) => new(ExitCodes.NetworkOrTrust, message);

    public static CliException Refused(string message) => new(ExitCodes.Refused, message);
}
