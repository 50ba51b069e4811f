using PkiService.Interop.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PkiService.Interop.Tests.ApiSide;

/// <summary>
/// The sample API's own server certificate: enrolled from its token (so curl trusts it through PkiService's root
/// alone, the issuing CA sent by the server), renewed over PkiService's mTLS listener before it expires and swapped
/// in without a restart; neither the token nor a key is ever printed.
/// </summary>
[Collection(SampleApiCollection.Name)]
public sealed class ServerCertificateTests(SampleApiFixture fixture, ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _work = new("pki-sample-server-");

    public void Dispose() => _work.Dispose();

    [SkippableFact]
    public async Task ServerCertificate_EnrolledFromToken_ChainsToPinnedRootWithTheTokensNames()
    {
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        await ServiceCertificates.WriteCaFilesAsync(fixture.Service.Api, _work.Path);

        var (serial, text) = await ServedCertificateAsync(openssl);

        Assert.Contains("DNS:localhost", text, StringComparison.Ordinal);
        Assert.Contains("IP Address:127.0.0.1", text, StringComparison.Ordinal);
        Assert.Contains("TLS Web Server Authentication", text, StringComparison.Ordinal);
        var record = await fixture.Service.Api.GetAdminJsonAsync($"api/v1/certificates/{serial}");
        Assert.Equal("server", record.GetProperty("profile").GetString());
    }

    [SkippableFact]
    public async Task ServerCertificate_TwoThirdsOfItsLifePassed_RenewedOverMtlsWithoutRestart()
    {
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        await ServiceCertificates.WriteCaFilesAsync(fixture.Service.Api, _work.Path);
        var (first, _) = await ServedCertificateAsync(openssl);
        var pid = fixture.Sample.Id;

        // One-minute certificates (backdated a minute: two minutes of life) are renewed 40 s before they expire.
        string? next = null;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(90) && next is null)
        {
            await Task.Delay(TimeSpan.FromSeconds(2));
            var (serial, _) = await ServedCertificateAsync(openssl);
            next = serial == first ? null : serial;
        }

        Assert.True(next is not null, $"the sample still served {first} after {watch.Elapsed}:\n{fixture.Sample.Output}");
        Timing.Report(output, "server-certificate-swapped", watch.Elapsed, $"{first} -> {next}");
        Assert.False(fixture.Sample.HasExited);
        Assert.Equal(pid, fixture.Sample.Id);
        // PkiService recorded it as a renewal of the one served before (which is now superseded).
        Assert.Equal("superseded", await fixture.Service.Api.GetStatusAsync(first));
        Assert.Equal("active", await fixture.Service.Api.GetStatusAsync(next!));
        Assert.Contains("Server certificate renewed over mTLS", fixture.Sample.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void SampleOutput_NeverHoldsTheTokenOrAKey()
    {
        var printed = fixture.Sample.Output;
        Assert.Contains("Server certificate enrolled", printed, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.Sample.EnrollmentToken, printed, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", printed, StringComparison.Ordinal);
    }

    /// <summary>The serial (upper-case hex) and <c>openssl x509 -text</c> of the certificate the sample serves, verified against root.pem only.</summary>
    private async Task<(string Serial, string Text)> ServedCertificateAsync(Openssl openssl)
    {
        var port = fixture.Sample.HttpsAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (!File.Exists(Path.Combine(_work.Path, "probe.pem")))
        {
            // A valid client certificate, so the handshake completes whatever the sample asks of clients.
            await ServiceCertificates.IssueClientAsync(fixture.Service.Api, openssl, "probe");
        }
        var client = await openssl.RunAsync("s_client", "-connect", $"127.0.0.1:{port}", "-CAfile", "root.pem", "-cert", "probe.pem", "-key", "probe.key",
            "-verify_return_error", "-verify_ip", "127.0.0.1", "-showcerts");
        Assert.True(client.StandardOutput.Contains("Verify return code: 0 (ok)", StringComparison.Ordinal), client.ToString());
        var pem = client.StandardOutput[client.StandardOutput.IndexOf("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal)..];
        pem = pem[..(pem.IndexOf("-----END CERTIFICATE-----", StringComparison.Ordinal) + "-----END CERTIFICATE-----".Length)];
        await File.WriteAllTextAsync(Path.Combine(_work.Path, "served.pem"), pem + "\n");
        var serial = (await openssl.RunAsync("x509", "-in", "served.pem", "-noout", "-serial")).EnsureSuccess().StandardOutput.Trim()["serial=".Length..];
        return (serial.ToUpperInvariant(), await openssl.TextAsync("served.pem"));
    }
}
