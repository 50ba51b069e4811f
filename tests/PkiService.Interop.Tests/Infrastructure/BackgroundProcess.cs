using System.Diagnostics;
using System.Text;

namespace PkiService.Interop.Tests.Infrastructure;

/// <summary>
/// A long-running process (the service, openssl s_server) whose output is collected while it runs.
/// Disposing kills it and everything it started.
/// </summary>
public sealed class BackgroundProcess : IDisposable
{
    private static readonly TimeSpan ExitWait = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly string _command;

    private BackgroundProcess(Process process, string command)
    {
        _process = process;
        _command = command;
    }

    public static BackgroundProcess Start(
        string fileName, IEnumerable<string> arguments, string? workingDirectory = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var startInfo = ExternalCommand.StartInfo(fileName, arguments, workingDirectory);
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            startInfo.Environment[name] = value;
        }

        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var started = new BackgroundProcess(process, ExternalCommand.Describe(fileName, startInfo.ArgumentList));
        process.OutputDataReceived += (_, e) => started.Append(e.Data);
        process.ErrorDataReceived += (_, e) => started.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return started;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code once the process has exited, else null.</summary>
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>Waits until the process has exited and its output has been read to the end.</summary>
    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    /// <summary>Everything printed so far on stdout and stderr, interleaved by line.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public string Describe() =>
        $"'{_command}' (pid {_process.Id}{(_process.HasExited ? $", exited {_process.ExitCode}" : ", running")}) printed:\n{Output}";

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
            _process.WaitForExit(ExitWait);
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
