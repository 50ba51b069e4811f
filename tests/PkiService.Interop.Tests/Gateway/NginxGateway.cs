using System.Net.Sockets;
using System.Text.RegularExpressions;
using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Gateway;

/// <summary>
/// A real nginx run in the foreground from a generated configuration in its own directory (prefix, pid file and temp
/// paths inside it, error log on stderr), listening on loopback ports. Disposing kills the master and its workers.
/// </summary>
public sealed partial class NginxGateway : IDisposable
{
    /// <summary><c>ssl_ocsp</c> arrived in nginx 1.19.0.</summary>
    public static readonly Version MinimumVersion = new(1, 19, 0);

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private const int StartAttempts = 3;

    private readonly string _nginx;
    private readonly string _directory;
    private BackgroundProcess? _process;

    private NginxGateway(string nginx, string directory)
    {
        _nginx = nginx;
        _directory = directory;
    }

    public string ConfigFile => Path.Combine(_directory, "nginx.conf");

    /// <summary>What nginx printed so far (its error log at level info, which names failed client verifications).</summary>
    public string Log => _process?.Describe() ?? "(not started)";

    /// <summary>Fails under CI, skips otherwise, unless the installed nginx has <c>ssl_ocsp</c>.</summary>
    public static async Task RequireOcspSupportAsync(string nginx)
    {
        var result = await ExternalCommand.RunAsync(nginx, ["-v"]);
        var match = VersionText().Match(result.StandardError + result.StandardOutput);
        RequiredTool.RequireCapability(
            match.Success && Version.Parse(match.Groups[1].Value) >= MinimumVersion,
            $"nginx >= {MinimumVersion} is needed for ssl_ocsp; '{nginx} -v' printed '{(result.StandardError + result.StandardOutput).Trim()}'.");
    }

    /// <summary>
    /// Starts nginx with the configuration <paramref name="configFor"/> makes for <paramref name="portCount"/> free
    /// loopback ports (the http block's servers; the rest is added here) and waits until every port accepts connections.
    /// </summary>
    public static async Task<(NginxGateway Gateway, int[] Ports)> StartAsync(
        string nginx, string directory, int portCount, Func<int[], string> configFor)
    {
        var gateway = new NginxGateway(nginx, directory);
        Directory.CreateDirectory(Path.Combine(directory, "logs"));
        Directory.CreateDirectory(Path.Combine(directory, "temp"));
        for (var attempt = 1; ; attempt++)
        {
            var ports = Enumerable.Range(0, portCount).Select(_ => Network.FreeLoopbackPort()).ToArray();
            await File.WriteAllTextAsync(gateway.ConfigFile, gateway.MainConfig(configFor(ports)));
            gateway._process = BackgroundProcess.Start(nginx, [.. gateway.CommonArguments(), "-g", "daemon off;"], directory);
            if (await Wait.UntilAsync(() => gateway._process.HasExited || ports.All(IsListening), StartTimeout) && !gateway._process.HasExited)
            {
                return (gateway, ports);
            }
            var failure = gateway._process.Describe();
            gateway._process.Dispose();
            gateway._process = null;
            if (attempt == StartAttempts || !failure.Contains("Address already in use", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"nginx did not start:\n{failure}\nconfig:\n{await File.ReadAllTextAsync(gateway.ConfigFile)}");
            }
        }
    }

    /// <summary><c>nginx -s reload</c>: the master re-reads the configuration and the files it names (certificates, CRLs) and starts new workers.</summary>
    public async Task ReloadAsync() =>
        (await ExternalCommand.RunAsync(_nginx, [.. CommonArguments(), "-s", "reload"], _directory)).EnsureSuccess();

    public void Dispose()
    {
        _process?.Dispose();
        _process = null;
    }

    private string[] CommonArguments() =>
        ["-p", _directory + Path.DirectorySeparatorChar, "-c", ConfigFile, "-e", "stderr"];

    private string MainConfig(string httpServers) => $$"""
        worker_processes 1;
        pid {{Path.Combine(_directory, "nginx.pid")}};
        error_log stderr info;
        events { worker_connections 64; }
        http {
            access_log off;
            client_body_temp_path {{Path.Combine(_directory, "temp", "body")}};
            proxy_temp_path {{Path.Combine(_directory, "temp", "proxy")}};
            fastcgi_temp_path {{Path.Combine(_directory, "temp", "fastcgi")}};
            uwsgi_temp_path {{Path.Combine(_directory, "temp", "uwsgi")}};
            scgi_temp_path {{Path.Combine(_directory, "temp", "scgi")}};
        {{httpServers}}
        }
        """;

    private static bool IsListening(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"nginx/(\d+\.\d+\.\d+)")]
    private static partial Regex VersionText();
}
