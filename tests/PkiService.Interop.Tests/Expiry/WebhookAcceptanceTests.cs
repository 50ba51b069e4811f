using PkiService.Tests.Shared;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using PkiService.Interop.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PkiService.Interop.Tests.Expiry;

/// <summary>
/// Issue 4, acceptance 2, against the real process: with <c>Expiry:WarnBefore:0=PT10M</c>, <c>Expiry:ScanInterval=PT2S</c>
/// and a webhook configured, a certificate enrolled for PT5M produces one signed webhook call within seconds, and still
/// only one after the process is killed and started again on the same data directory.
/// </summary>
[Collection(ServiceCollection.Name)] // not the shared service: its own, with expiry settings; runs alone
public sealed class WebhookAcceptanceTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Secret = "interop-webhook-secret-0123456789abcdef";

    /// <summary>Receivers often put a token in the webhook URL's path or query: it must never reach a log.</summary>
    private const string PathToken = "path-token-5f2c9a";
    private const string QueryToken = "query-token-8d41e7";
    private static readonly TimeSpan ScanInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan FirstCallWithin = TimeSpan.FromSeconds(20);

    private readonly WebhookReceiver _receiver = new();
    private readonly TempDirectory _work = new();
    private ServiceProcess _service = null!;

    public Task InitializeAsync()
    {
        _service = new ServiceProcess
        {
            Settings = new Dictionary<string, string>
            {
                ["Expiry:WarnBefore:0"] = "PT10M",
                ["Expiry:ScanInterval"] = "PT2S",
                ["Notifications:Webhook:Url"] = $"{_receiver.Url}{PathToken}?token={QueryToken}",
                ["Notifications:Webhook:Secret"] = Secret,
            },
        };
        return _service.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        _receiver.Dispose();
        _work.Dispose();
    }

    [SkippableFact]
    public async Task ExpiryWebhook_UrlWithTokenInPathAndQuery_LogsTheHostOnly()
    {
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        await openssl.GenerateKeyAsync(KeyType.EcP256, "logged.key");
        var csr = await openssl.CreateCsrAsync("logged.key", "logged", "URI:spiffe://example.org/logged", "logged.csr");
        var token = await _service.Api.CreateEnrollmentTokenAsync("logged", ["spiffe://example.org/logged"]);
        await _service.Api.EnrollAsync(token, csr, validity: "PT5M");

        Assert.True(await Wait.UntilAsync(() => !_receiver.Calls.IsEmpty, FirstCallWithin), $"no webhook call within {FirstCallWithin}\n{_service.Output}");
        var call = Assert.Single(_receiver.Calls);
        Assert.Contains(PathToken, call.PathAndQuery, StringComparison.Ordinal); // the URL was used as configured
        var logged = await Wait.UntilAsync(() => _service.Output.Contains("posted to host 127.0.0.1", StringComparison.Ordinal), TimeSpan.FromSeconds(5));

        var output = _service.Output;
        Assert.True(logged, $"no log line names the webhook host\n{output}");
        Assert.DoesNotContain(PathToken, output, StringComparison.Ordinal);
        Assert.DoesNotContain(QueryToken, output, StringComparison.Ordinal);
        Assert.DoesNotContain("/hooks/pki", output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task ExpiryWebhook_FiveMinuteCertificate_OneSignedCallWithinSecondsAndNoneMoreAfterRestart()
    {
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        await openssl.GenerateKeyAsync(KeyType.EcP256, "short.key");
        var csr = await openssl.CreateCsrAsync("short.key", "short-lived", "URI:spiffe://example.org/short-lived", "short.csr");
        var token = await _service.Api.CreateEnrollmentTokenAsync("short-lived", ["spiffe://example.org/short-lived"]);

        var enrolled = Stopwatch.StartNew();
        var issued = await _service.Api.EnrollAsync(token, csr, validity: "PT5M");
        var arrived = await Wait.UntilAsync(() => !_receiver.Calls.IsEmpty, FirstCallWithin);
        var firstCallAfter = enrolled.Elapsed;

        Assert.True(arrived, $"no webhook call within {FirstCallWithin}\n{_service.Output}");
        Timing.Report(output, "expiry webhook after enrollment", firstCallAfter, $"scan interval {ScanInterval.TotalSeconds} s");
        var call = Assert.Single(_receiver.Calls);
        Assert.Equal(200, call.AnsweredWith);
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), call.Body));
        Assert.Equal(expected, call.Headers["X-Pki-Signature"]);
        using var body = JsonDocument.Parse(call.Body);
        Assert.Equal("certificate.expiring", body.RootElement.GetProperty("event").GetString());
        Assert.Equal(issued.SerialNumber, body.RootElement.GetProperty("serialNumber").GetString());
        Assert.Equal("PT10M", body.RootElement.GetProperty("threshold").GetString());
        Assert.Equal(call.Headers["X-Pki-Delivery-Id"], body.RootElement.GetProperty("deliveryId").GetString());

        // Two more scans before the restart, then at least three after it (the first scan runs at start).
        await Task.Delay(ScanInterval * 2);
        Assert.Single(_receiver.Calls);
        await _service.RestartAsync();
        await Task.Delay(ScanInterval * 3 + TimeSpan.FromSeconds(1));

        Assert.True(_receiver.Calls.Count == 1, $"{_receiver.Calls.Count} webhook calls after the restart, expected 1\n{_service.Output}");
        output.WriteLine($"webhook calls after the restart and {(ScanInterval * 3 + TimeSpan.FromSeconds(1)).TotalSeconds} s: {_receiver.Calls.Count}");
    }
}
