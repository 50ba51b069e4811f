using System.Diagnostics;
using System.Text;

namespace PkiService.Interop.Tests.Infrastructure;

/// <summary>What a finished command printed and how it exited.</summary>
public sealed record CommandResult(string Command, int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Throws with everything the command printed unless it exited 0.</summary>
    public CommandResult EnsureSuccess()
    {
        if (ExitCode != 0)
        {
            throw new InvalidOperationException($"'{Command}' exited {ExitCode}.\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}");
        }
        return this;
    }

    public override string ToString() => $"'{Command}' exited {ExitCode}\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}";
}

/// <summary>Runs an external tool (openssl, curl) to completion with a timeout, capturing its output.</summary>
public static class ExternalCommand
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>A start without a shell, each argument passed as is, every stream redirected.</summary>
    public static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments, string? workingDirectory)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }
        return startInfo;
    }

    public static async Task<CommandResult> RunAsync(
        string fileName, IEnumerable<string> arguments, string? workingDirectory = null, TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var startInfo = StartInfo(fileName, arguments, workingDirectory);
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            startInfo.Environment[name] = value;
        }
        var command = Describe(fileName, startInfo.ArgumentList);

        using var process = new Process { StartInfo = startInfo };
        process.Start();
        process.StandardInput.Close(); // no tool here reads stdin; a prompt must not wait forever
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancellation = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"'{command}' did not finish within {timeout ?? DefaultTimeout}.\nstdout:\n{await stdout}\nstderr:\n{await stderr}");
        }
        return new CommandResult(command, process.ExitCode, await stdout, await stderr);
    }

    internal static string Describe(string fileName, IEnumerable<string> arguments)
    {
        var text = new StringBuilder(fileName);
        foreach (var argument in arguments)
        {
            text.Append(' ').Append(argument.Contains(' ') ? $"\"{argument}\"" : argument);
        }
        return text.ToString();
    }
}
