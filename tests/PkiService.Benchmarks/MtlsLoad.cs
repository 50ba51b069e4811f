using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace PkiService.Benchmarks;

/// <summary>
/// A load driver that presents a client certificate (wrk and ab cannot): <paramref name="connections"/> workers, each
/// with exactly one kept-alive HTTP/1.1 connection, GET a URL in a loop for a fixed time after a warm-up. Prints
/// <c>RESULT mtls_rps=…</c>, <c>mtls_p99_ms=…</c>, <c>mtls_non200=…</c> and <c>mtls_new_connections=…</c> (connections
/// opened during the measured run: 0 when every connection of the warm-up stayed up, so no handshake is in the figure). The server's certificate is trusted through
/// <c>root.pem</c> only.
/// </summary>
public static class MtlsLoad
{
    public static async Task RunAsync(Uri url, string certificatePem, string keyPem, string rootPem, int connections, TimeSpan duration, TimeSpan warmUp)
    {
        var root = X509CertificateLoader.LoadCertificateFromFile(rootPem);
        using var certificate = X509Certificate2.CreateFromPemFile(certificatePem, keyPem);
        var opened = 0;
        var clients = Enumerable.Range(0, connections).Select(_ => new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
            ConnectCallback = async (context, cancellationToken) =>
            {
                Interlocked.Increment(ref opened);
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificateContext = SslStreamCertificateContext.Create(certificate, null, offline: true),
                RemoteCertificateValidationCallback = (_, server, _, errors) => server is not null
                    && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0 && ChainsTo(root, new X509Certificate2(server)),
            },
        })
        { DefaultRequestVersion = HttpVersion.Version11, Timeout = TimeSpan.FromSeconds(30) }).ToList();
        try
        {
            await DriveAsync(clients, url, warmUp);
            var openedBefore = Volatile.Read(ref opened);
            var (count, non200, latencies, elapsed) = await DriveAsync(clients, url, duration);
            latencies.Sort();
            var p99 = latencies.Count == 0 ? 0 : latencies[(int)Math.Min(latencies.Count - 1, Math.Ceiling(latencies.Count * 0.99) - 1)];
            Console.WriteLine($"{count} answers of 200 and {non200} others in {elapsed.TotalSeconds:F1} s over {connections} connections");
            Console.WriteLine(FormattableString.Invariant($"RESULT mtls_rps={count / elapsed.TotalSeconds:F0}"));
            Console.WriteLine(FormattableString.Invariant($"RESULT mtls_p99_ms={p99:F2}"));
            Console.WriteLine(FormattableString.Invariant($"RESULT mtls_non200={non200}"));
            Console.WriteLine(FormattableString.Invariant($"RESULT mtls_new_connections={Volatile.Read(ref opened) - openedBefore}"));
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    private static async Task<(long Count, long Non200, List<double> LatenciesMs, TimeSpan Elapsed)> DriveAsync(List<HttpClient> clients, Uri url, TimeSpan duration)
    {
        var clock = Stopwatch.StartNew();
        var workers = clients.Select(client => Task.Run(async () =>
        {
            long ok = 0, other = 0;
            var latencies = new List<double>();
            while (clock.Elapsed < duration)
            {
                var start = Stopwatch.GetTimestamp();
                using var response = await client.GetAsync(url, HttpCompletionOption.ResponseContentRead);
                latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    ok++;
                }
                else
                {
                    other++;
                }
            }
            return (ok, other, latencies);
        })).ToList();
        var results = await Task.WhenAll(workers);
        var elapsed = clock.Elapsed;
        return (results.Sum(r => r.ok), results.Sum(r => r.other), results.SelectMany(r => r.latencies).ToList(), elapsed);
    }

    private static bool ChainsTo(X509Certificate2 root, X509Certificate2 server)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(server);
    }

    internal static TimeSpan Seconds(string text) => TimeSpan.FromSeconds(double.Parse(text, CultureInfo.InvariantCulture));
}
