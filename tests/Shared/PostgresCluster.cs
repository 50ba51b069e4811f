using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace PkiService.Tests.Shared;

/// <summary>
/// A throwaway PostgreSQL cluster for the tests: <c>initdb</c> into a temporary directory (as the <c>postgres</c> user
/// when the tests run as root, since PostgreSQL refuses to run as root), started on a free loopback port with its
/// socket in that directory, trust authentication, fsync off; stopped and deleted when the test process exits.
/// <see cref="Shared"/> serves most tests, one fresh database each; a test that stops the server starts its own.
/// Missing PostgreSQL binaries fail the test under <c>CI=true</c> and skip it otherwise. Compiled into the API tests
/// and the interop tests (linked source file), whose service processes connect to it over TCP like any other client.
/// </summary>
public sealed class PostgresCluster : IDisposable
{
    private static readonly Lazy<PostgresCluster> SharedCluster = new(() => Start(), LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly string _binDirectory;
    private readonly string _root;
    private readonly bool _asPostgresUser;
    private int _disposed;

    private PostgresCluster(string binDirectory, string root, int port, bool asPostgresUser)
    {
        _binDirectory = binDirectory;
        _root = root;
        Port = port;
        _asPostgresUser = asPostgresUser;
    }

    /// <summary>The cluster shared by the test process (started on first use, stopped at exit).</summary>
    public static PostgresCluster Shared => SharedCluster.Value;

    public int Port { get; }

    private string DataDirectory => Path.Combine(_root, "data");

    /// <summary>A connection string for <paramref name="database"/> (the maintenance database <c>postgres</c> by default).</summary>
    public string ConnectionString(string database = "postgres") => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = "postgres",
        Database = database,
        // A test host's pool should not keep many idle server processes alive between tests.
        MaxPoolSize = 40,
    }.ConnectionString;

    /// <summary>Creates the database <paramref name="name"/> unless it exists; returns its connection string.</summary>
    public async Task<string> EnsureDatabaseAsync(string name)
    {
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync();
        await using (var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection))
        {
            exists.Parameters.AddWithValue("name", name);
            if (await exists.ExecuteScalarAsync() is null)
            {
                await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
                try
                {
                    await create.ExecuteNonQueryAsync();
                }
                catch (PostgresException exception) when (exception.SqlState is "42P04" or "23505")
                {
                    // created concurrently by another host on the same data directory
                }
            }
        }
        return ConnectionString(name);
    }

    /// <summary>The database name that belongs to a data directory: a restarted host on the same directory finds its database again.</summary>
    public static string DatabaseNameFor(string dataDirectory) =>
        "pki_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(dataDirectory))))[..24];

    /// <summary>Starts a new cluster; the caller disposes it (or the process exit does).</summary>
    public static PostgresCluster Start()
    {
        var bin = FindBinDirectory();
        DeleteStale();
        var asPostgresUser = Environment.UserName == "root";
        var root = Path.Combine(Path.GetTempPath(), "pki-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        if (asPostgresUser)
        {
            Run("chown", ["postgres:postgres", root], asPostgresUser: false);
        }
        var cluster = new PostgresCluster(bin, root, FreeLoopbackPort(), asPostgresUser);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.Dispose();
        cluster.Run("initdb", ["-D", cluster.DataDirectory, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync", "--locale=C.UTF-8"]);
        cluster.StartServer();
        cluster.StartWatchdog();
        return cluster;
    }

    /// <summary>
    /// Starts the server (again, after <see cref="StopServer"/>) on the same port and data. fsync is off (nothing here
    /// survives a machine crash anyway); synchronous_commit stays on, so an immediate stop loses no committed row.
    /// </summary>
    public void StartServer()
    {
        var options = string.Join(' ',
            "-p", Port.ToString(CultureInfo.InvariantCulture),
            "-c", "listen_addresses=127.0.0.1",
            "-k", _root,
            "-c", "fsync=off", "-c", "full_page_writes=off",
            "-c", "max_connections=400");
        Run("pg_ctl", ["-D", DataDirectory, "-l", Path.Combine(_root, "server.log"), "-o", options, "-w", "-t", "60", "start"]);
    }

    /// <summary>Stops the server at once (<c>-m immediate</c>: connections are cut, as when the server goes away).</summary>
    public void StopServer() => Run("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"]);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        try
        {
            Run("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"]);
        }
        catch (InvalidOperationException)
        {
            // already stopped
        }
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>
    /// The test host is not always given the time at exit to stop the server (its ProcessExit handlers are cut short),
    /// and a postmaster outlives its starter. A small shell loop, detached from the test host's output, waits for the
    /// test process to end, then shuts the server down at once (SIGQUIT to the postmaster) and deletes the cluster.
    /// </summary>
    private void StartWatchdog()
    {
        var script = "exec </dev/null >/dev/null 2>&1; "
            + $"while [ -d /proc/{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)} ]; do sleep 1; done; "
            + $"pid=$(head -n 1 '{DataDirectory}/postmaster.pid' 2>/dev/null) && kill -QUIT \"$pid\"; "
            + $"for i in 1 2 3 4 5 6 7 8 9 10; do [ -e '{DataDirectory}/postmaster.pid' ] || break; sleep 1; done; "
            + $"rm -rf '{_root}'";
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        using var _ = Process.Start(start);
    }

    /// <summary>
    /// Clusters of earlier test runs that are no longer running (no postmaster.pid) and are older than ten minutes: the
    /// test host is not always given the time at exit to delete its own after stopping it.
    /// </summary>
    private static void DeleteStale()
    {
        foreach (var directory in Directory.GetDirectories(Path.GetTempPath(), "pki-pg-*"))
        {
            try
            {
                if (!File.Exists(Path.Combine(directory, "data", "postmaster.pid"))
                    && Directory.GetLastWriteTimeUtc(directory) < DateTime.UtcNow.AddMinutes(-10))
                {
                    Directory.Delete(directory, recursive: true);
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    private void Run(string tool, IReadOnlyList<string> arguments) => Run(Path.Combine(_binDirectory, tool), arguments, _asPostgresUser);

    private static void Run(string program, IReadOnlyList<string> arguments, bool asPostgresUser)
    {
        var start = new ProcessStartInfo(asPostgresUser ? "runuser" : program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asPostgresUser)
        {
            foreach (var argument in new[] { "-u", "postgres", "--", program })
            {
                start.ArgumentList.Add(argument);
            }
        }
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(90)))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} did not finish in 90 s");
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited {process.ExitCode}: {error.Result}{output.Result}");
        }
    }

    /// <summary>
    /// Debian's server binaries (<c>/usr/lib/postgresql/&lt;version&gt;/bin</c>, newest first), else <c>initdb</c> on
    /// PATH. Missing: fails under CI=true, skips otherwise (the tool policy of the interop tests).
    /// </summary>
    private static string FindBinDirectory()
    {
        var debian = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var version) ? version : 0)
                .FirstOrDefault()
            : null;
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")));
        if ((debian ?? onPath) is { } found)
        {
            return found;
        }
        const string reason = "PostgreSQL is not installed (no initdb/pg_ctl in /usr/lib/postgresql/*/bin or on PATH); install it with 'apt-get install postgresql'.";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail($"CI=true and {reason}");
        }
        Skip.If(true, reason);
        return null!; // unreachable: Skip.If throws
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
