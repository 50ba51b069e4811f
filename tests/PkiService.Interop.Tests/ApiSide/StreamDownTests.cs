using System.Diagnostics;
using PkiService.Interop.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PkiService.Interop.Tests.ApiSide;

/// <summary>
/// PkiService stopped under a running API: with a fresh CRL the API keeps serving valid clients and refusing revoked
/// ones; once that CRL's nextUpdate has passed, FailClosed refuses everyone and the API's health endpoint says why.
/// PkiService runs with one-minute CRLs here (re-issued when 30 s are left), so the wait is at most about a minute;
/// the nextUpdate compared with is that of the CRL the API holds, as its health endpoint reports it.
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

        // Stop PkiService while the CRL the API holds has at least 20 s left, so "fresh" is checked with room to spare.
        Assert.True(await EventuallyAsync(async () => await HeldCrlNextUpdateAsync(clients, health) - DateTimeOffset.UtcNow > TimeSpan.FromSeconds(20),
            TimeSpan.FromSeconds(70)), "the API's CRL never had 20 s left");
        _service.Kill();
        var sinceStop = Stopwatch.StartNew();
        // Read after the stop: PkiService signs nothing more, so this is the CRL the API holds from now on.
        var nextUpdate = await HeldCrlNextUpdateAsync(clients, health);
        output.WriteLine($"PkiService stopped; the API's CRL has nextUpdate {nextUpdate:O} ({(nextUpdate - DateTimeOffset.UtcNow).TotalSeconds:F0} s ahead)");

        var valid = await clients.GetAsync(whoami, "valid");
        Assert.True(valid.Status == 200, $"valid client right after the stop: {valid}");
        var stillRevoked = await clients.GetAsync(whoami, "revoked");
        Assert.True(stillRevoked.IsRefused, $"revoked client right after the stop: {stillRevoked}");
        Assert.True(DateTimeOffset.UtcNow < nextUpdate, $"the CRL (nextUpdate {nextUpdate:O}) was no longer fresh when checked");

        // Until nextUpdate the valid client keeps being served; past it, every certificate's status is unknown.
        DateTimeOffset? lastServed = null;
        var closed = await EventuallyAsync(async () =>
        {
            var answer = await clients.GetAsync(whoami, "valid");
            if (answer.Status == 200)
            {
                lastServed = DateTimeOffset.UtcNow;
            }
            return answer.IsRefused;
        }, nextUpdate - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(15));
        var failedClosedAt = DateTimeOffset.UtcNow;
        Timing.Report(output, "stop->fail-closed", sinceStop.Elapsed,
            $"refused {(failedClosedAt - nextUpdate).TotalSeconds:F1} s after the CRL's nextUpdate, last served {(lastServed is { } l ? (l - nextUpdate).TotalSeconds : double.NaN):F1} s after it");
        Assert.True(closed, $"the valid client was still served 15 s after the CRL's nextUpdate {nextUpdate:O}\n{_sample.Output}");
        Assert.True(failedClosedAt >= nextUpdate, $"refused at {failedClosedAt:O}, before the CRL's nextUpdate {nextUpdate:O}");
        Assert.True(lastServed > nextUpdate - TimeSpan.FromSeconds(5), $"last served at {lastServed:O}: not until (about) nextUpdate {nextUpdate:O}");
        Assert.True((await clients.GetAsync(whoami, "revoked")).IsRefused);

        var probe = await clients.GetAsync(health, client: null);
        output.WriteLine($"/health: {probe.Status}\n{probe.Body}");
        Assert.Equal(503, probe.Status);
        Assert.Contains("Unhealthy", probe.Body, StringComparison.Ordinal);
        Assert.Matches("(?i)nextUpdate|CRL|revocation", probe.Body);
    }

    /// <summary>The nextUpdate of the complete CRL the API holds, as its health endpoint (plain HTTP) reports it.</summary>
    private static async Task<DateTimeOffset> HeldCrlNextUpdateAsync(SampleApiClients clients, Uri health)
    {
        var body = (await clients.GetAsync(health, client: null)).Body;
        var match = System.Text.RegularExpressions.Regex.Match(body, @"crlNextUpdate=(?<at>[^,)\s]+)");
        Assert.True(match.Success, $"/health names no CRL: {body}");
        return DateTimeOffset.Parse(match.Groups["at"].Value, System.Globalization.CultureInfo.InvariantCulture);
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
