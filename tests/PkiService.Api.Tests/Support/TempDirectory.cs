using System.Diagnostics;
using System.Globalization;

namespace PkiService.Api.Tests.Support;

/// <summary>
/// Temporary data directories. They outlive a single host (restart tests hand one to the next host), so they are
/// deleted when the test process exits. All of one test process's directories sit under one run directory named for the
/// process id, and each run first removes the run directories of processes that no longer exist: the test host may
/// end before its exit handler finishes, and without this every run left about a hundred data directories behind.
/// </summary>
public static class TempDirectory
{
    private const string RunPrefix = "pki-tests-run-";

    private static readonly string RunDirectory = StartRun();

    public static string Create()
    {
        var path = Path.Combine(RunDirectory, Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(path);
        return path;
    }

    private static string StartRun()
    {
        RemoveRunsOfEndedProcesses();
        var run = Path.Combine(Path.GetTempPath(), RunPrefix + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(run);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(run);
        return run;
    }

    private static void RemoveRunsOfEndedProcesses()
    {
        foreach (var run in Directory.EnumerateDirectories(Path.GetTempPath(), RunPrefix + "*"))
        {
            if (int.TryParse(Path.GetFileName(run).AsSpan(RunPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && pid != Environment.ProcessId
                && !IsRunning(pid))
            {
                TryDelete(run);
            }
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // still in use by a host that has not stopped: the next run removes it
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
