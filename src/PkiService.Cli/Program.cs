using PkiService.Cli.Commands;
using PkiService.Cli.Infrastructure;

// pki: the command-line client and renewal agent of PkiService (issue 15). Parse errors are usage errors (exit 2);
// each command maps its own failures to the exit codes in ExitCodes.
var root = PkiCommands.Build();
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (var error in parsed.Errors)
    {
        Console.Error.WriteLine($"pki: {error.Message}");
    }
    Console.Error.WriteLine("Run 'pki --help' (or 'pki <command> --help') for the usage.");
    return ExitCodes.Usage;
}
return await parsed.InvokeAsync(new System.CommandLine.InvocationConfiguration
{
    // SIGTERM/SIGINT cancel the running command's token; the daemon then finishes the step it is in and exits 0.
    ProcessTerminationTimeout = TimeSpan.FromSeconds(30),
});
