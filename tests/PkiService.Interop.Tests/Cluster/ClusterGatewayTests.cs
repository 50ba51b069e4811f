using System.Net;
using System.Text.RegularExpressions;
using PkiService.Interop.Tests.Gateway;
using PkiService.Interop.Tests.Infrastructure;
using PkiService.Tests.Shared;
using Xunit.Abstractions;

namespace PkiService.Interop.Tests.Cluster;

/// <summary>
/// The load-balancer example <c>ops/cluster/pki-cluster.conf</c>, run by real nginx in front of three real nodes on one
/// PostgreSQL database (only the node addresses and the listen port are replaced by loopback ports): enrollment and
/// revocation through it, <c>openssl ocsp</c> (POST) and OCSP GET and the CRLs through it, and all of that again with
/// one node killed with SIGKILL, which nginx's passive health check and retries must hide from clients.
/// </summary>
[Collection(ServiceCollection.Name)] // not the shared service: three nodes of their own; runs alone
public sealed partial class ClusterGatewayTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int RoundsWithNodeKilled = 9;

    private readonly TempDirectory _work = new("pki-interop-cluster-nginx-");
    private ServiceCluster? _cluster;
    private NginxGateway? _nginx;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _nginx?.Dispose();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
        _work.Dispose();
    }

    [SkippableFact]
    public async Task OpsClusterNginxConf_InFrontOfThreeNodes_ServesOcspAndCrlsAlsoWithOneNodeKilled()
    {
        var nginx = RequiredTool.Nginx();
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        _cluster = await ServiceCluster.StartAsync(PostgresCluster.Shared, 3, new Dictionary<string, string>
        {
            // nginx connects from loopback: its X-Forwarded-For is believed, as ops/cluster/README.md configures it.
            ["ForwardedHeaders:KnownProxies:0"] = "127.0.0.1",
        });
        var nodes = _cluster.Nodes;
        var example = await File.ReadAllTextAsync(ExampleConfig());
        var nginxDirectory = Directory.CreateDirectory(_work.File("nginx")).FullName;
        (_nginx, var ports) = await NginxGateway.StartAsync(nginx, nginxDirectory, 1, p => Template(example, p[0], nodes.Select(n => n.BaseAddress.Port).ToArray()));
        using var api = new PkiApiClient(new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports[0]}/"), Timeout = TimeSpan.FromSeconds(30) }, ServiceProcess.AdminApiKey);
        var gatewayUrl = $"http://127.0.0.1:{ports[0]}";

        // Through nginx: CA files, two enrollments (API location), one revocation.
        await ServiceCertificates.WriteCaFilesAsync(api, _work.Path);
        var good = await ServiceCertificates.IssueClientAsync(api, openssl, "via-nginx-good");
        var revoked = await ServiceCertificates.IssueClientAsync(api, openssl, "via-nginx-revoked");
        // The revocation stream through the example's /pki/ location (nginx passes events on at once: the nodes send
        // X-Accel-Buffering: no), from whichever node nginx picked, while the revocation goes to the next one.
        using (var stream = BackgroundProcess.Start(RequiredTool.Curl(), ["-sS", "-N", $"{gatewayUrl}/pki/revocations/stream"]))
        {
            Assert.True(await Wait.UntilAsync(() => stream.Output.Contains("event: ready", StringComparison.Ordinal), TimeSpan.FromSeconds(15)), stream.Describe());
            var sinceRevoke = System.Diagnostics.Stopwatch.StartNew();
            await api.RevokeAsync(revoked.SerialNumber);
            Assert.True(await Wait.UntilAsync(() => stream.Output.Contains(revoked.SerialNumber, StringComparison.Ordinal), TimeSpan.FromSeconds(10)), stream.Describe());
            Timing.Report(output, "revoke-through-nginx->stream-event-through-nginx", sinceRevoke.Elapsed, "the revoke call's own time included");
        }
        var requests = new Dictionary<string, byte[]>();
        foreach (var name in new[] { "via-nginx-good", "via-nginx-revoked" })
        {
            (await openssl.RunAsync("ocsp", "-issuer", "ca.pem", "-cert", $"{name}.pem", "-no_nonce", "-reqout", $"{name}.req")).EnsureSuccess();
            requests[name] = await File.ReadAllBytesAsync(_work.File($"{name}.req"));
        }

        // Three rounds with every node up (nginx sends them round robin), then the rounds with node B killed.
        for (var round = 0; round < 3 + RoundsWithNodeKilled; round++)
        {
            if (round == 3)
            {
                nodes[1].Kill();
                output.WriteLine("node B killed with SIGKILL");
            }
            var (goodText, revokedText) = (await OpensslOcspAsync(openssl, gatewayUrl, "via-nginx-good"), await OpensslOcspAsync(openssl, gatewayUrl, "via-nginx-revoked"));
            Assert.True(goodText.Contains("via-nginx-good.pem: good", StringComparison.Ordinal), $"round {round}: {goodText}\n{_nginx.Log}");
            Assert.True(revokedText.Contains("via-nginx-revoked.pem: revoked", StringComparison.Ordinal), $"round {round}: {revokedText}\n{_nginx.Log}");
            Assert.Equal("good", await ServiceCluster.OcspStatusAsync(api.Http, requests["via-nginx-good"], useGet: true));
            Assert.Equal("revoked", await ServiceCluster.OcspStatusAsync(api.Http, requests["via-nginx-revoked"], useGet: true));
            Assert.True((await ServiceCluster.GetCrlAsync(api.Http, "pki/crl", revoked.SerialNumber)).ListsSerial, $"round {round}: the CRL through nginx does not list the revoked certificate");
            Assert.False((await ServiceCluster.GetCrlAsync(api.Http, "pki/crl", good.SerialNumber)).ListsSerial);
            Assert.Equal("active", await api.GetStatusAsync(good.SerialNumber));
        }

        // With B down, enrollment through nginx still works (only the connection to B is refused, so nginx retries).
        var late = await ServiceCertificates.IssueClientAsync(api, openssl, "via-nginx-after-kill");
        Assert.Equal("active", await nodes[2].Api.GetStatusAsync(late.SerialNumber));
        using var metrics = await api.Http.GetAsync("metrics");
        Assert.Equal(HttpStatusCode.NotFound, metrics.StatusCode); // scraped on each node, not through the load balancer
        output.WriteLine($"{3 + RoundsWithNodeKilled} rounds of openssl ocsp (POST), OCSP GET, CRL and API through nginx; the last {RoundsWithNodeKilled} with node B killed");
    }

    /// <summary>
    /// The example with its three node addresses (<c>server 10.0.0.1N:5080</c>) pointed at the loopback ports and its
    /// <c>listen 80;</c> at <paramref name="listenPort"/>; fails if the example no longer has that shape.
    /// </summary>
    private static string Template(string example, int listenPort, int[] nodePorts)
    {
        Assert.Equal(nodePorts.Length, NodeLine().Matches(example).Count);
        Assert.Single(ListenLine().Matches(example));
        var config = NodeLine().Replace(example, m => $"server 127.0.0.1:{nodePorts[int.Parse(m.Groups["n"].Value, System.Globalization.CultureInfo.InvariantCulture) - 1]}");
        return ListenLine().Replace(config, $"listen 127.0.0.1:{listenPort};");
    }

    private static async Task<string> OpensslOcspAsync(Openssl openssl, string gatewayUrl, string name)
    {
        var result = (await openssl.RunAsync("ocsp", "-issuer", "ca.pem", "-cert", $"{name}.pem", "-url", $"{gatewayUrl}/ocsp", "-CAfile", "chain.pem")).EnsureSuccess();
        Assert.Contains("Response verify OK", result.StandardError + result.StandardOutput);
        return result.StandardOutput;
    }

    /// <summary><c>ops/cluster/pki-cluster.conf</c> of the repository these tests were built from.</summary>
    private static string ExampleConfig()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var file = Path.Combine(directory.FullName, "ops", "cluster", "pki-cluster.conf");
            if (File.Exists(file))
            {
                return file;
            }
        }
        throw new InvalidOperationException("ops/cluster/pki-cluster.conf not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"server 10\.0\.0\.1(?<n>[1-9]):5080")]
    private static partial Regex NodeLine();

    [GeneratedRegex(@"listen 80;")]
    private static partial Regex ListenLine();
}
