using System.Diagnostics;
using Org.BouncyCastle.X509;
using PkiService.Interop.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PkiService.Interop.Tests.ApiSide;

/// <summary>
/// PkiService stopped under a running API: with a fresh CRL the API keeps serving valid clients and refusing revoked
/// ones; once that CRL's nextUpdate has passed, FailClosed refuses everyone and the API's health endpoint says why.
/// PkiService runs with one-minute CRLs here (re-issued when 30 s are left), so the wait is at most about a minute.
/// </summary>
public sealed class StreamDownTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly ServiceProcess _service = new()
    {
        Settings = new Dictionary<string, string>
        {
            ["Crl:Validity"] = "PT1M",
            ["Crl:RefreshBefore"] = "PT30S",
            ["Crl:CheckInterval"] = "PT5S",
        },
    };

    private readonly TempDirectory _work = new("pki-sample-down-");
    private SampleApiProcess? _sample;

    public Task InitializeAsync() => _service.InitializeAsync();

    public async Task DisposeAsync()
    {
        _sample?.Dispose();
        await _service.DisposeAsync();
        _work.Dispose();
    }

    [SkippableFact]
    public async Task ServiceStopped_FreshCrlServesThenPastNextUpdateFailsClosedAndHealthSaysWhy()
    {
        var clients = new SampleApiClients(_service, new Openssl(RequiredTool.Openssl(), _work.Path), RequiredTool.Curl());
        await ServiceCertificates.WriteCaFilesAsync(_service.Api, _work.Path);
        _sample = await SampleApiProcess.StartAsync(_service);
        await clients.EnrollAsync("valid", "valid", "spiffe://example.org/team-a/valid");
        var revoked = await clients.EnrollAsync("revoked", "revoked", "spiffe://example.org/team-a/revoked");
        await _service.Api.RevokeAsync(revoked.SerialNumber, "keyCompromise");
        var whoami = new Uri(_sample.HttpsAddress, "whoami");
        var health = new Uri(_sample.HttpAddress, "health");
        Assert.True(await EventuallyAsync(async () => (await clients.GetAsync(whoami, "revoked")).IsRefused, TimeSpan.FromSeconds(5)));

        // The newest CRL there will be: PkiService signs nothing once stopped.
        var crl = new X509CrlParser().ReadCrl(await _service.Api.GetBytesAsync("pki/crl"));
        var nextUpdate = new DateTimeOffset(crl.NextUpdate!.Value.ToUniversalTime(), TimeSpan.Zero);
        _service.Kill();
        var sinceStop = Stopwatch.StartNew();

        var valid = await clients.GetAsync(whoami, "valid");
        Assert.True(valid.Status == 200, $"valid client right after the stop: {valid}");
        var stillRevoked = await clients.GetAsync(whoami, "revoked");
        Assert.True(stillRevoked.IsRefused, $"revoked client right after the stop: {stillRevoked}");
        Assert.True(DateTimeOffset.UtcNow < nextUpdate, $"the CRL (nextUpdate {nextUpdate:O}) was no longer fresh when checked");
        output.WriteLine($"PkiService stopped; CRL nextUpdate {nextUpdate:O} ({(nextUpdate - DateTimeOffset.UtcNow).TotalSeconds:F0} s ahead)");

        // Past nextUpdate (plus the API's polling and a little clock slack), the status of every certificate is unknown.
        var closed = await EventuallyAsync(async () => (await clients.GetAsync(whoami, "valid")).IsRefused,
            nextUpdate - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(30));
        var failedClosedAt = DateTimeOffset.UtcNow;
        Timing.Report(output, "stop->fail-closed", sinceStop.Elapsed, $"{(failedClosedAt - nextUpdate).TotalSeconds:F1} s after the CRL's nextUpdate");
        Assert.True(closed, $"the valid client was still served 30 s after the CRL's nextUpdate {nextUpdate:O}\n{_sample.Output}");
        Assert.True(failedClosedAt > nextUpdate - TimeSpan.FromSeconds(5), $"refused at {failedClosedAt:O}, before the CRL's nextUpdate {nextUpdate:O}");
        Assert.True((await clients.GetAsync(whoami, "revoked")).IsRefused);

        var probe = await clients.GetAsync(health, client: null);
        output.WriteLine($"/health: {probe.Status}\n{probe.Body}");
        Assert.Equal(503, probe.Status);
        Assert.Contains("Unhealthy", probe.Body, StringComparison.Ordinal);
        Assert.Matches("(?i)nextUpdate|CRL|revocation", probe.Body);
    }

    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        do
        {
            if (await condition())
            {
                return true;
            }
            await Task.Delay(250);
        }
        while (watch.Elapsed < timeout);
        return false;
    }
}
