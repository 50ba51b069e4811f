using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Est;

/// <summary>
/// Bouncy Castle Java's EST client (<c>org.bouncycastle.est</c>, Debian's libbcpkix-java 1.72) driven by
/// <c>BcEstClient.java</c>, which the first test that needs it compiles with the machine's <c>javac</c> into a
/// temporary directory. Each <see cref="RunAsync"/> is one EST operation in a fresh JVM, as a device would run it.
/// Missing java, javac or jars skip the tests locally and fail them under CI=true (<see cref="RequiredTool"/>).
/// Set <c>PKI_EST_DEBUG=1</c> to have BC and JSSE print the HTTP exchange and the TLS handshake on stderr.
/// </summary>
public sealed class BouncyCastleEstClient : IDisposable
{
    /// <summary>Where Debian's libbcpkix-java, libbcprov-java and libbcutil-java install their jars.</summary>
    public static readonly IReadOnlyList<string> Jars =
    [
        "/usr/share/java/bcpkix.jar",
        "/usr/share/java/bcprov.jar",
        "/usr/share/java/bcutil.jar",
    ];

    private const string MainClass = "BcEstClient";
    private const string Install = "apt-get install openjdk-17-jdk-headless libbcpkix-java libbcprov-java libbcutil-java";
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(2);

    private readonly SemaphoreSlim _buildLock = new(1, 1);
    private readonly TempDirectory _classes = new("pki-bc-est-");
    private string? _java;

    public void Dispose()
    {
        _classes.Dispose();
        _buildLock.Dispose();
    }

    /// <summary>
    /// Finds java, javac and the jars (skip or fail as <see cref="RequiredTool"/> rules), and compiles the client once.
    /// </summary>
    public async Task EnsureBuiltAsync()
    {
        var java = FindOnPath("java");
        var javac = FindOnPath("javac");
        RequiredTool.RequireCapability(java is not null, $"java is not installed (not found on PATH); install it with '{Install}'.");
        RequiredTool.RequireCapability(javac is not null, $"javac is not installed (not found on PATH); install it with '{Install}'.");
        var missing = Jars.Where(jar => !File.Exists(jar)).ToList();
        RequiredTool.RequireCapability(missing.Count == 0, $"Bouncy Castle Java is not installed ({string.Join(", ", missing)} missing); install it with '{Install}'.");

        await _buildLock.WaitAsync();
        try
        {
            if (_java is not null)
            {
                return;
            }
            var source = Path.Combine(AppContext.BaseDirectory, "Est", MainClass + ".java");
            // -Xlint:-path: the Debian jars' manifests name optional jars (javax.mail) that are not installed.
            (await ExternalCommand.RunAsync(javac!,
                ["-Xlint:all,-path", "-cp", ClassPath(), "-d", _classes.Path, source],
                timeout: RunTimeout)).EnsureSuccess();
            _java = java;
        }
        finally
        {
            _buildLock.Release();
        }
    }

    /// <summary>Runs one operation (<c>cacerts</c>, <c>csrattrs</c>, <c>enroll</c>, <c>reenroll</c>, <c>serverkeygen</c>).</summary>
    public async Task<BouncyCastleEstResult> RunAsync(string operation, IEnumerable<(string Name, string? Value)> options)
    {
        await EnsureBuiltAsync();
        List<string> arguments = ["-XX:+UseSerialGC"];
        if (Environment.GetEnvironmentVariable("PKI_EST_DEBUG") == "1")
        {
            arguments.AddRange(["-Dorg.bouncycastle.debug.est=all", "-Djavax.net.debug=ssl:handshake"]);
        }
        arguments.AddRange(["-cp", _classes.Path + Path.PathSeparator + ClassPath(), MainClass, operation]);
        foreach (var (name, value) in options)
        {
            if (value is null)
            {
                arguments.Add("--" + name);
            }
            else
            {
                arguments.AddRange(["--" + name, value]);
            }
        }
        var result = await ExternalCommand.RunAsync(_java!, arguments, timeout: RunTimeout);
        // The command line is shown in test output and assertion messages: without the token's secret.
        var token = options.FirstOrDefault(option => option.Name == "token").Value;
        return new BouncyCastleEstResult(token is null ? result : result with { Command = result.Command.Replace(token, "<token>", StringComparison.Ordinal) });
    }

    private static string ClassPath() => string.Join(Path.PathSeparator, Jars);

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
}

/// <summary>
/// What <c>BcEstClient</c> printed: one result per line, <c>NAME value</c> (<c>CERTIFICATE /tmp/.../a.pem</c>,
/// <c>SERIAL 3A9F...</c>, <c>ERROR status=401 ...</c>). Exit 0 = done, 3 = the server refused (BC's ESTException).
/// </summary>
public sealed class BouncyCastleEstResult(CommandResult command)
{
    public const int Refused = 3;

    public CommandResult Command => command;

    public bool Succeeded => command.ExitCode == 0 && Values("STATUS").Contains("ok");

    /// <summary>Every value printed under <paramref name="name"/>, in order.</summary>
    public IReadOnlyList<string> Values(string name) =>
        command.StandardOutput.Split('\n')
            .Select(line => line.TrimEnd('\r'))
            .Where(line => line.StartsWith(name + " ", StringComparison.Ordinal))
            .Select(line => line[(name.Length + 1)..])
            .ToList();

    /// <summary>The single value printed under <paramref name="name"/>; fails the test with the whole output otherwise.</summary>
    public string Value(string name)
    {
        var values = Values(name);
        Assert.True(values.Count == 1, $"expected one '{name}' line:\n{this}");
        return values[0];
    }

    /// <summary>The HTTP status BC reported for a refusal (ERROR status=...), or null.</summary>
    public int? RefusalStatus =>
        Values("ERROR").Select(error => error.Split(' ')[0]).Where(first => first.StartsWith("status=", StringComparison.Ordinal))
            .Select(first => (int?)int.Parse(first["status=".Length..], System.Globalization.CultureInfo.InvariantCulture))
            .FirstOrDefault();

    public override string ToString() => command.ToString();
}
