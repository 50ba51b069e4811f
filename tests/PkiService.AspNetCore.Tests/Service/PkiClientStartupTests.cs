using System.Net;
using System.Net.Sockets;
using PkiService.AspNetCore.Tests.Support;

namespace PkiService.AspNetCore.Tests.Service;

/// <summary>What stops the API's start: the pinned root, the settings, an unreachable PkiService.</summary>
public sealed class PkiClientStartupTests : IAsyncLifetime
{
    private PkiServiceInstance _pki = null!;

    public async Task InitializeAsync() => _pki = await PkiServiceInstance.StartAsync();

    public async Task DisposeAsync() => await _pki.DisposeAsync();

    [Fact]
    public async Task Start_RootFingerprintOfAnotherRoot_FailsNamingTheSetting()
    {
        var wrong = new string('A', 64);
        await using var app = ProtectedApi.Build(Settings(_pki.Url.ToString(), wrong), new CapturedLogs());

        var error = await Assert.ThrowsAsync<PkiClientStartupException>(() => app.StartAsync());

        Assert.Contains("PkiClient:RootFingerprint does not match", error.Message);
        Assert.Contains(wrong, error.Message);
    }

    [Theory]
    [InlineData(null, "PkiClient:RootFingerprint is not set")]
    [InlineData("12:34", "is not a SHA-256 fingerprint")]
    [InlineData("zz", "is not a SHA-256 fingerprint")]
    public async Task Start_MissingOrMalformedFingerprint_FailsNamingTheSetting(string? fingerprint, string expected)
    {
        await using var app = ProtectedApi.Build(Settings(_pki.Url.ToString(), fingerprint), new CapturedLogs());

        var error = await Assert.ThrowsAsync<PkiClientStartupException>(() => app.StartAsync());

        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData(null, "PkiClient:ServiceUrl is not set")]
    [InlineData("ftp://pki.example.org/", "is not an absolute http(s) address")]
    public async Task Start_MissingOrInvalidServiceUrl_FailsNamingTheSetting(string? url, string expected)
    {
        await using var app = ProtectedApi.Build(Settings(url, _pki.RootFingerprint), new CapturedLogs());

        var error = await Assert.ThrowsAsync<PkiClientStartupException>(() => app.StartAsync());

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public async Task Start_ServiceUnreachable_RetriesThenFails()
    {
        var logs = new CapturedLogs();
        var settings = Settings($"http://127.0.0.1:{ClosedPort()}/", _pki.RootFingerprint);
        settings["PkiClient:StartupTimeout"] = "PT2S";
        await using var app = ProtectedApi.Build(settings, logs);

        var error = await Assert.ThrowsAsync<PkiClientStartupException>(() => app.StartAsync());

        Assert.Contains("was not reachable within PkiClient:StartupTimeout (2 s)", error.Message);
        Assert.True(logs.Entries.Count(e => e.EventName == "PkiClientServiceUnreachable") >= 2, "each failed attempt is logged");
    }

    [Fact]
    public async Task Start_ServiceComesUpWhileRetrying_Starts()
    {
        var port = ClosedPort();
        var logs = new CapturedLogs();
        var settings = Settings($"http://127.0.0.1:{port}/", _pki.RootFingerprint);
        await using var app = ProtectedApi.Build(settings, logs);
        var starting = app.StartAsync();
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.False(starting.IsCompleted);

        // The real service, reached through a relay on the port the API was told about.
        using var relay = TcpRelay.Start(port, _pki.Url.Port);
        await starting.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Contains(logs.Entries, e => e.EventName == "PkiClientServiceUnreachable");
        Assert.Contains(logs.Entries, e => e.EventName == "PkiClientTrustAnchorsLoaded");
    }

    private static Dictionary<string, string?> Settings(string? url, string? fingerprint) => new()
    {
        ["PkiClient:ServiceUrl"] = url,
        ["PkiClient:RootFingerprint"] = fingerprint,
    };

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
