using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using PkiService.Api.Tests.Support;
using PkiService.AspNetCore.Tests.Support;
using Xunit.Abstractions;

namespace PkiService.AspNetCore.Tests.Revocation;

/// <summary>Revocation reaching a running API: by the stream, by delta CRL polling, and what happens when neither can.</summary>
public sealed class RevocationEndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private PkiServiceInstance _pki = null!;

    public async Task InitializeAsync() => _pki = await PkiServiceInstance.StartAsync();

    public async Task DisposeAsync() => await _pki.DisposeAsync();

    [Fact]
    public async Task Revoke_OpenConnection_StreamRefusesItsNextRequestWithinOneSecond()
    {
        // Polling an hour apart: only the stream can bring the revocation in time.
        await using var api = await ProtectedApi.StartAsync(_pki, new Dictionary<string, string?> { ["PkiClient:CrlPollInterval"] = "PT1H" });
        await WaitForHealthAsync(api, HealthStatus.Healthy);
        using var certificate = await _pki.EnrollAsync("soon-revoked");
        using var client = api.CreateClient(certificate);
        using var first = await client.GetAsync("/whoami");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var connection = first.Headers.GetValues("x-connection-id").Single();

        var clock = Stopwatch.StartNew();
        await _pki.RevokeAsync(certificate);
        var revokedAt = clock.Elapsed;
        var refused = await RequestUntilRefusedAsync(client, TimeSpan.FromSeconds(5));
        var delay = clock.Elapsed - revokedAt;
        output.WriteLine($"revocation to refusal on the open connection: {delay.TotalMilliseconds:0} ms");

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(connection, refused.Headers.GetValues("x-connection-id").Single());
        Assert.Empty(await refused.Content.ReadAsByteArrayAsync());
        Assert.True(delay < TimeSpan.FromSeconds(1), $"refused after {delay.TotalMilliseconds:0} ms");
        Assert.Contains(api.Logs.Entries, e => e.EventName == "PkiClientRevocationReceived");
        using var fresh = api.CreateClient(certificate);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => fresh.GetAsync("/whoami"));
        Assert.Equal(["revoked"], api.Logs.RefusalReasons.Distinct());
    }

    [Fact]
    public async Task StreamDropped_RevokedMeanwhile_ReplayedOnResumeWithLastEventId()
    {
        // The API reaches PkiService through a relay that can be cut; polling an hour apart, so only the stream's
        // replay can bring what was revoked while it was down.
        var port = FreeLoopbackPort();
        var relay = TcpRelay.Start(port, _pki.Url.Port);
        await using var api = await ProtectedApi.StartAsync(_pki, new Dictionary<string, string?>
        {
            ["PkiClient:ServiceUrl"] = $"http://127.0.0.1:{port}/",
            ["PkiClient:CrlPollInterval"] = "PT1H",
        });
        await WaitForHealthAsync(api, HealthStatus.Healthy);
        using var certificate = await _pki.EnrollAsync("revoked-while-down");
        using var client = api.CreateClient(certificate);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/whoami")).StatusCode);

        relay.Dispose();
        await WaitForHealthAsync(api, HealthStatus.Degraded);
        await _pki.RevokeAsync(certificate);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/whoami")).StatusCode);
        using var restored = TcpRelay.Start(port, _pki.Url.Port);
        var refused = await RequestUntilRefusedAsync(client, TimeSpan.FromSeconds(40));

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains(api.Logs.Entries, e => e.EventName == "PkiClientRevocationReceived");
        Assert.True(api.Logs.Entries.Count(e => e.EventName == "PkiClientRevocationStreamConnected") >= 2, "the stream reconnected");
    }

    [Fact]
    public async Task Revoke_OpenConnectionWithoutStream_DeltaCrlPollingRefusesItsNextRequest()
    {
        await using var api = await ProtectedApi.StartAsync(_pki, new Dictionary<string, string?>
        {
            ["PkiClient:Revocation"] = "Crl",
            ["PkiClient:CrlPollInterval"] = "PT0.2S",
        });
        using var certificate = await _pki.EnrollAsync("polled");
        using var client = api.CreateClient(certificate);
        using var first = await client.GetAsync("/whoami");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var connection = first.Headers.GetValues("x-connection-id").Single();

        await _pki.RevokeAsync(certificate);
        var refused = await RequestUntilRefusedAsync(client, TimeSpan.FromSeconds(10));

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(connection, refused.Headers.GetValues("x-connection-id").Single());
        Assert.Empty(await refused.Content.ReadAsByteArrayAsync());
        Assert.Equal(["revoked"], api.Logs.RefusalReasons.Distinct());
    }

    [Fact]
    public async Task StreamDown_FreshCrlThenPastNextUpdate_ServesUntilNextUpdateThenFailsClosed()
    {
        var time = new AdjustableTimeProvider(DateTimeOffset.UtcNow);
        await using var api = await ProtectedApi.StartAsync(_pki, new Dictionary<string, string?> { ["PkiClient:CrlPollInterval"] = "PT0.2S" }, time);
        await WaitForHealthAsync(api, HealthStatus.Healthy);
        using var valid = await _pki.EnrollAsync("valid");
        using var revoked = await _pki.EnrollAsync("revoked");
        using var validClient = api.CreateClient(valid);
        using var revokedClient = api.CreateClient(revoked);
        Assert.Equal(HttpStatusCode.OK, (await validClient.GetAsync("/whoami")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await revokedClient.GetAsync("/whoami")).StatusCode);
        await _pki.RevokeAsync(revoked);
        Assert.Equal(HttpStatusCode.Forbidden, (await RequestUntilRefusedAsync(revokedClient, TimeSpan.FromSeconds(5))).StatusCode);

        // PkiService stops: the stream is down, the CRL is still fresh: valid clients are served, revoked ones are not.
        await _pki.Factory.DisposeAsync();
        await WaitForHealthAsync(api, HealthStatus.Degraded);
        Assert.Equal(HttpStatusCode.OK, (await validClient.GetAsync("/whoami")).StatusCode);
        using var revokedAgain = api.CreateClient(revoked);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => revokedAgain.GetAsync("/whoami"));

        // Past the CRL's nextUpdate (a day by default) with no stream: the status is unknown, everyone is refused.
        time.Advance(TimeSpan.FromDays(2));
        using var refused = await validClient.GetAsync("/whoami");
        var health = await api.HealthAsync();

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("status-unknown", api.Logs.RefusalReasons);
        Assert.Equal(HealthStatus.Unhealthy, health.Status);
        var entry = health.Entries["pki-revocation"];
        Assert.Contains("revocation stream down and CRL", entry.Description);
        Assert.Contains("past its nextUpdate", entry.Description);
        output.WriteLine(entry.Description);
    }

    [Fact]
    public async Task StreamDown_PastNextUpdateWithFailClosedFalse_AcceptsAndWarns()
    {
        var time = new AdjustableTimeProvider(DateTimeOffset.UtcNow);
        await using var api = await ProtectedApi.StartAsync(_pki, new Dictionary<string, string?> { ["PkiClient:FailClosed"] = "false" }, time);
        using var valid = await _pki.EnrollAsync("valid");
        await _pki.Factory.DisposeAsync();
        time.Advance(TimeSpan.FromDays(2));

        using var client = api.CreateClient(valid);
        using var response = await client.GetAsync("/whoami");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(api.Logs.Entries, e => e.EventName == "PkiClientCertificateStatusUnknownAccepted");
        Assert.Equal(HealthStatus.Degraded, (await api.HealthAsync()).Entries["pki-revocation"].Status);
    }

    [Fact]
    public async Task Ocsp_RevokedCertificate_RefusedAtTheHandshake()
    {
        await using var api = await ProtectedApi.StartAsync(_pki, new Dictionary<string, string?> { ["PkiClient:Revocation"] = "Ocsp" });
        using var valid = await _pki.EnrollAsync("ocsp-valid");
        using var revoked = await _pki.EnrollAsync("ocsp-revoked");
        await _pki.RevokeAsync(revoked);
        using var validClient = api.CreateClient(valid);
        using var revokedClient = api.CreateClient(revoked);

        using var response = await validClient.GetAsync("/whoami");
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => revokedClient.GetAsync("/whoami"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["revoked"], api.Logs.RefusalReasons.Distinct());
    }

    [Fact]
    public async Task None_RevokedCertificate_Accepted()
    {
        await using var api = await ProtectedApi.StartAsync(_pki, new Dictionary<string, string?> { ["PkiClient:Revocation"] = "None" });
        using var revoked = await _pki.EnrollAsync("unchecked");
        await _pki.RevokeAsync(revoked);
        using var client = api.CreateClient(revoked);

        using var response = await client.GetAsync("/whoami");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>Sends requests on the client's one connection until one is not 200 (or the time is up).</summary>
    private static async Task<HttpResponseMessage> RequestUntilRefusedAsync(HttpClient client, TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var response = await client.GetAsync("/whoami");
            if (response.StatusCode != HttpStatusCode.OK || clock.Elapsed > within)
            {
                return response;
            }
            response.Dispose();
            await Task.Delay(10);
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitForHealthAsync(ProtectedApi api, HealthStatus status)
    {
        var clock = Stopwatch.StartNew();
        while ((await api.HealthAsync()).Status != status)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"the API's health did not become {status}");
            await Task.Delay(50);
        }
    }
}
