using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using PkiService.Interop.Tests.Infrastructure;
using PkiService.Tests.Shared;
using Xunit.Abstractions;

namespace PkiService.Interop.Tests.Cluster;

/// <summary>
/// Issue 11: a database that goes away makes <c>/health/ready</c> answer 503 on every node until it is back, and the
/// nodes recover without a restart. PostgreSQL (a cluster of this test's own) is stopped for a few seconds under three
/// nodes; meanwhile no API, OCSP or CRL request is answered with a 500 or a stack trace (OCSP and CRLs may still be
/// served from the nodes' caches); after it is started again every node is ready, issues, and sees a revocation made on
/// another node.
/// </summary>
[Collection(ServiceCollection.Name)] // not the shared service: three nodes and a PostgreSQL of their own; runs alone
public sealed class ClusterDatabaseOutageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan NotReadyWithin = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan RecoveredWithin = TimeSpan.FromSeconds(60);

    private readonly TempDirectory _work = new("pki-interop-outage-");
    private PostgresCluster? _postgres;
    private ServiceCluster? _cluster;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
        _postgres?.Dispose();
        _work.Dispose();
    }

    [SkippableFact]
    public async Task Postgres_StoppedForSecondsUnderThreeNodes_Ready503NoServerErrorsAndRecoveryWithoutRestart()
    {
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        _postgres = PostgresCluster.Start();
        _cluster = await ServiceCluster.StartAsync(_postgres, 3);
        var nodes = _cluster.Nodes;
        var pids = nodes.Select(node => node.ProcessId).ToArray();
        await ServiceCertificates.WriteCaFilesAsync(nodes[0].Api, _work.Path);
        var issued = await ServiceCertificates.IssueClientAsync(nodes[0].Api, openssl, "outage");
        (await openssl.RunAsync("ocsp", "-issuer", "ca.pem", "-cert", "outage.pem", "-no_nonce", "-reqout", "outage.req")).EnsureSuccess();
        var request = await File.ReadAllBytesAsync(_work.File("outage.req"));
        var getPath = "ocsp/" + Uri.EscapeDataString(Convert.ToBase64String(request));
        foreach (var node in nodes)
        {
            Assert.Equal("good", await ServiceCluster.OcspStatusAsync(node.Api.Http, request));
            (await node.Api.Http.GetAsync(getPath)).EnsureSuccessStatusCode();
        }

        _postgres.StopServer();
        var sinceStop = Stopwatch.StartNew();
        var notReady = await Task.WhenAll(nodes.Select(node => UntilReadyIsAsync(node, HttpStatusCode.ServiceUnavailable, NotReadyWithin)));
        Assert.True(notReady.All(elapsed => elapsed is not null),
            $"/health/ready still answers 200 on some node {NotReadyWithin} after PostgreSQL stopped: {string.Join(", ", notReady)}\n{_cluster.Logs()}");
        Timing.Report(output, "cluster PostgreSQL stopped -> /health/ready 503 on every node", notReady.Max()!.Value);

        var answers = new List<string>();
        while (sinceStop.Elapsed < Outage)
        {
            foreach (var (node, i) in nodes.Select((node, i) => (node, i)))
            {
                foreach (var (what, send) in Requests(node, issued.SerialNumber, request, getPath))
                {
                    using var response = await send();
                    var body = await response.Content.ReadAsStringAsync();
                    var status = (int)response.StatusCode;
                    answers.Add($"{ServiceCluster.Name(i)} {what} {status}");
                    Assert.True(status is < 500 or 503, $"node {ServiceCluster.Name(i)}, {what} during the outage: {status} {body}");
                    Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
                    Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
                    if (status >= 400 && what != "GET ocsp" && what != "POST ocsp")
                    {
                        // RFC 9457: a refused API or CRL request says why in problem+json.
                        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                    }
                }
            }
        }
        output.WriteLine("answers during the outage: " + string.Join(", ", answers.GroupBy(a => a).Select(g => $"{g.Key} x{g.Count()}")));

        _postgres.StartServer();
        var sinceStart = Stopwatch.StartNew();
        var ready = await Task.WhenAll(nodes.Select(node => UntilReadyIsAsync(node, HttpStatusCode.OK, RecoveredWithin)));
        Assert.True(ready.All(elapsed => elapsed is not null), $"not every node is ready {RecoveredWithin} after PostgreSQL is back\n{_cluster.Logs()}");
        Timing.Report(output, "cluster PostgreSQL back -> /health/ready 200 on every node", sinceStart.Elapsed);
        Assert.Equal(pids, nodes.Select(node => node.ProcessId).ToArray()); // recovered, not restarted

        // Every node issues again, and a revocation on A reaches B's and C's OCSP caches (their listeners reconnected).
        var after = new List<EnrollmentResult>();
        foreach (var (node, i) in nodes.Select((node, i) => (node, i)))
        {
            after.Add(await ServiceCertificates.IssueClientAsync(node.Api, openssl, $"after-outage-{i}"));
        }
        (await openssl.RunAsync("ocsp", "-issuer", "ca.pem", "-cert", "after-outage-1.pem", "-no_nonce", "-reqout", "after.req")).EnsureSuccess();
        var afterRequest = await File.ReadAllBytesAsync(_work.File("after.req"));
        foreach (var node in nodes.Skip(1))
        {
            Assert.Equal("good", await ServiceCluster.OcspStatusAsync(node.Api.Http, afterRequest));
        }
        await nodes[0].Api.RevokeAsync(after[1].SerialNumber);
        var sinceRevoke = Stopwatch.StartNew();
        var statuses = Array.Empty<string?>();
        while (sinceRevoke.Elapsed < TimeSpan.FromSeconds(10))
        {
            statuses = await Task.WhenAll(nodes.Skip(1).Select(node => ServiceCluster.OcspStatusAsync(node.Api.Http, afterRequest)));
            if (statuses.All(status => status == "revoked"))
            {
                break;
            }
            await Task.Delay(20);
        }
        Assert.True(statuses.All(status => status == "revoked"),
            $"after the outage, a revocation on A is not seen by B and C (they answer {string.Join(", ", statuses)})\n{_cluster.Logs()}");
        Timing.Report(output, "cluster after the outage: revoke on A -> OCSP revoked on B and C", sinceRevoke.Elapsed);
    }

    /// <summary>What a client, an admin and a gateway ask a node: API reads and writes, OCSP POST and GET, the CRLs.</summary>
    private static IEnumerable<(string What, Func<Task<HttpResponseMessage>> Send)> Requests(ServiceProcess node, string serial, byte[] ocspRequest, string getPath)
    {
        var http = node.Api.Http;
        yield return ("GET certificate", () => http.SendAsync(Admin(HttpMethod.Get, $"api/v1/certificates/{serial}")));
        yield return ("POST token", () =>
        {
            var create = Admin(HttpMethod.Post, "api/v1/enrollment-tokens");
            create.Content = JsonContent.Create(new { commonName = "during-outage", sans = new[] { "spiffe://example.org/during-outage" }, ttl = "PT10M" });
            return http.SendAsync(create);
        });
        yield return ("POST enroll", () =>
        {
            var enroll = new HttpRequestMessage(HttpMethod.Post, "api/v1/enroll") { Content = JsonContent.Create(new { csr = ServiceCluster.Csr("during-outage") }) };
            enroll.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "pki_et_not-a-real-token-0123456789");
            return http.SendAsync(enroll);
        });
        yield return ("POST ocsp", () =>
        {
            var content = new ByteArrayContent(ocspRequest);
            content.Headers.ContentType = new("application/ocsp-request");
            return http.PostAsync("ocsp", content);
        });
        yield return ("GET ocsp", () => http.GetAsync(getPath));
        yield return ("GET crl", () => http.GetAsync("pki/crl"));
        yield return ("GET delta crl", () => http.GetAsync("pki/delta.crl"));
    }

    private static HttpRequestMessage Admin(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ServiceProcess.AdminApiKey);
        return request;
    }

    private static async Task<TimeSpan?> UntilReadyIsAsync(ServiceProcess node, HttpStatusCode expected, TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < within)
        {
            try
            {
                using var response = await node.Api.Http.GetAsync("health/ready");
                if (response.StatusCode == expected)
                {
                    return clock.Elapsed;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(100);
        }
        return null;
    }
}
