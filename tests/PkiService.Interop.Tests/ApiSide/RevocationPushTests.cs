using System.Diagnostics;
using System.Net;
using System.Runtime.CompilerServices;
using PkiService.Interop.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PkiService.Interop.Tests.ApiSide;

/// <summary>
/// Revocation pushed to the API: a client holding one kept-alive connection is revoked on PkiService, and within 1 s
/// the next request on that same connection, and a new handshake, are refused. The delay is measured and printed.
/// </summary>
[Collection(SampleApiCollection.Name)]
public sealed class RevocationPushTests(SampleApiFixture fixture, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(1);

    private readonly TempDirectory _work = new("pki-sample-push-");

    public void Dispose() => _work.Dispose();

    [SkippableFact]
    public async Task Revoke_ClientOnOpenConnection_RefusedOnThatConnectionAndNewHandshakesWithin1s()
    {
        var clients = new SampleApiClients(fixture.Service, new Openssl(RequiredTool.Openssl(), _work.Path), RequiredTool.Curl());
        await ServiceCertificates.WriteCaFilesAsync(fixture.Service.Api, _work.Path);
        var issued = await clients.EnrollAsync("kept", "kept", "spiffe://example.org/team-a/kept");
        var connections = new StrongBox<int>(0);
        using var http = clients.OneConnectionClient("kept", connections);
        var whoami = new Uri(fixture.Sample.HttpsAddress, "whoami");
        for (var i = 0; i < 3; i++)
        {
            using var answered = await http.GetAsync(whoami);
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        }
        Assert.Equal(1, connections.Value);

        var sinceCall = Stopwatch.StartNew();
        await fixture.Service.Api.RevokeAsync(issued.SerialNumber, "keyCompromise");
        var sinceReturn = Stopwatch.StartNew();
        var callTook = sinceCall.Elapsed;
        HttpStatusCode status;
        var requests = 0;
        do
        {
            using var answer = await http.GetAsync(whoami);
            status = answer.StatusCode;
            requests++;
            if (status == HttpStatusCode.OK)
            {
                await Task.Delay(10);
            }
        }
        while (status == HttpStatusCode.OK && sinceReturn.Elapsed < TimeSpan.FromSeconds(10));
        var refusedAfter = sinceReturn.Elapsed;
        var connectionsAtRefusal = connections.Value;

        Timing.Report(output, "revoke->refused-on-open-connection", refusedAfter,
            $"after the revoke call returned ({callTook.TotalMilliseconds:F0} ms call); {requests} request(s) on {connectionsAtRefusal} connection(s), answer {(int)status}");
        Assert.True(status is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized, $"still {(int)status} after {refusedAfter}");
        Assert.Equal(1, connectionsAtRefusal); // the refusal came on the connection opened before the revocation
        Assert.True(refusedAfter < Bound, $"refused only {refusedAfter} after the revocation (bound {Bound})");

        var fresh = await clients.GetAsync(whoami, "kept");
        Timing.Report(output, "revoke->new-handshake-refused", sinceReturn.Elapsed, fresh.Status == 0 ? "TLS refused" : $"HTTP {fresh.Status}");
        Assert.True(fresh.IsRefused, fresh.ToString());
    }
}
