using System.Diagnostics;
using System.Reflection;

namespace PkiService.Api.Tests.Commands.CopyDatabase;

/// <summary>
/// <c>dotnet PkiService.Api.dll copy-database ...</c> as a real process: the built service assembly (recorded in this
/// test assembly's metadata at build time), on the dotnet host running the tests, in the Production environment.
/// </summary>
public static class CopyDatabaseProcess
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    public sealed record Result(int ExitCode, string Output, string Error)
    {
        /// <summary>Stderr's lines, without empty ones.</summary>
        public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        public override string ToString() => $"exit {ExitCode}\nstdout:\n{Output}\nstderr:\n{Error}";
    }

    /// <summary>Runs <c>copy-database</c> with <paramref name="arguments"/> (after the command's name) and waits for it to exit.</summary>
    public static async Task<Result> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.ArgumentList.Add(ServiceAssembly());
        start.ArgumentList.Add("copy-database");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment.Remove("ASPNETCORE_URLS");
        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"copy-database did not exit within {Timeout}: {await output}{await error}");
        }
        return new Result(process.ExitCode, await output, await error);
    }

    private static string ServiceAssembly()
    {
        var path = typeof(CopyDatabaseProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "PkiServiceApiPath")?.Value;
        return !string.IsNullOrEmpty(path) && File.Exists(path)
            ? path
            : throw new InvalidOperationException($"PkiService.Api.dll not found (looked at '{path}'); build the solution.");
    }

    private static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrEmpty(host) && File.Exists(host) ? host : "dotnet";
    }
}
