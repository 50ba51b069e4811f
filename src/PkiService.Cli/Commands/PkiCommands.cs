using System.CommandLine;
using PkiService.Cli.Infrastructure;

namespace PkiService.Cli.Commands;

/// <summary>The command tree of <c>pki</c>: one class per command, each listing its options and its action.</summary>
public static class PkiCommands
{
    /// <summary><c>--config</c>, on every command: where bootstrap saved the URL and root.</summary>
    public static readonly Option<string?> Config = new("--config")
    {
        Description = "The configuration file (default ~/.config/pki/config.json).",
        Recursive = true,
    };

    public static RootCommand Build()
    {
        var root = new RootCommand(
            "pki: enroll, renew and check certificates of a PkiService CA.\n"
            + "Exit codes: 0 ok, 1 refused by the server (or status not good), 2 usage, 3 network or trust.")
        {
            Config,
            BootstrapCommand.Create(),
            EnrollCommand.Create(),
            RenewCommand.Create(),
            StatusCommand.Create(),
            AdminCommands.Token(),
            AdminCommands.Certs(),
            AdminCommands.Revoke(),
            AdminCommands.Audit(),
        };
        return root;
    }

    /// <summary>A <c>--json</c> switch for commands that print data.</summary>
    public static Option<bool> Json() => new("--json") { Description = "Print the result as JSON on stdout." };

    /// <summary>
    /// Runs a command body and turns its failures into one line on stderr and an exit code. A cancelled command
    /// (SIGTERM, SIGINT) exits 0: it stopped because it was asked to.
    /// </summary>
    public static void SetCliAction(this Command command, Func<ParseResult, CancellationToken, Task<int>> body) =>
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                return await body(parse, cancellationToken);
            }
            catch (CliException e)
            {
                Console.Error.WriteLine($"{Path(parse)}: {PkiHttp.OneLine(e.Message)}");
                return e.ExitCode;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return ExitCodes.Ok;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"{Path(parse)}: {PkiHttp.OneLine(e.Message)}");
                return ExitCodes.Usage;
            }
            catch (System.Security.Cryptography.CryptographicException e)
            {
                Console.Error.WriteLine($"{Path(parse)}: {PkiHttp.OneLine(e.Message)}");
                return ExitCodes.NetworkOrTrust;
            }
        });

    /// <summary>"pki audit verify": the command's full name, to start its error lines.</summary>
    private static string Path(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Insert(0, result.Command is RootCommand ? "pki" : result.Command.Name);
        }
        return string.Join(' ', names);
    }

    /// <summary>The admin API key from <c>PKI_API_KEY</c>; never printed, never saved.</summary>
    public static string ApiKey() =>
        Environment.GetEnvironmentVariable("PKI_API_KEY") is { Length: > 0 } key
            ? key
            : throw CliException.Usage("Set PKI_API_KEY to an API key of the service (admin commands read it from the environment only).");
}
