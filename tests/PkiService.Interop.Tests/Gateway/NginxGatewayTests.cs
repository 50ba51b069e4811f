using System.Diagnostics;
using PkiService.Interop.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PkiService.Interop.Tests.Gateway;

/// <summary>
/// nginx as the mTLS gateway in front of an application, trusting our chain. Server "ocsp" checks every client
/// certificate of the chain with <c>ssl_ocsp on</c> (the responder URL comes from each certificate's AIA extension; no
/// <c>ssl_ocsp_cache</c>, so every handshake asks); server "crl" checks against a fetched <c>crl-bundle.pem</c>
/// (<c>ssl_crl</c> needs a CRL for every CA in the chain). After a revoke the OCSP server refuses the certificate at
/// once; the CRL server after the bundle is fetched again and nginx reloaded.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class NginxGatewayTests(ServiceProcess service, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan RevokedWithin = TimeSpan.FromSeconds(15);

    private readonly TempDirectory _work = new("pki-interop-nginx-");
    private NginxGateway? _nginx;

    public void Dispose()
    {
        _nginx?.Dispose();
        _work.Dispose();
    }

    [SkippableFact]
    public async Task NginxGateway_RevokedClientCertificate_RefusedViaOcspAtOnceAndViaCrlAfterReload()
    {
        var (nginx, openssl, curl) = (RequiredTool.Nginx(), new Openssl(RequiredTool.Openssl(), _work.Path), RequiredTool.Curl());
        await NginxGateway.RequireOcspSupportAsync(nginx);
        await ServiceCertificates.WriteCaFilesAsync(service.Api, _work.Path);
        await ServiceCertificates.IssueLocalhostServerAsync(service.Api, openssl);
        var client = await ServiceCertificates.IssueClientAsync(service.Api, openssl, "gateway-client");
        await FetchCrlBundleAsync();
        (_nginx, var ports) = await NginxGateway.StartAsync(nginx, _work.Path, 2, p => Servers(p[0], p[1]));
        var (ocspPort, crlPort) = (ports[0], ports[1]);

        Assert.Equal(200, await StatusAsync(curl, ocspPort));
        Assert.Equal(200, await StatusAsync(curl, crlPort));
        Assert.Equal("ok", (await File.ReadAllTextAsync(_work.File("body.txt"))).Trim());

        await service.Api.RevokeAsync(client.SerialNumber, "keyCompromise");
        var sinceRevoke = Stopwatch.StartNew();
        var (ocspStatus, ocspAttempts) = await PollUntilRefusedAsync(curl, ocspPort);
        var toOcspRefusal = sinceRevoke.Elapsed;

        Timing.Report(output, "revoke->nginx-ocsp-refused", toOcspRefusal, $"{ocspAttempts} request(s)");
        Assert.True(ocspStatus == 400, $"nginx with ssl_ocsp still answers {ocspStatus} {RevokedWithin} after the revoke.\n{_nginx.Log}");
        // "At once": the revoke call returns only once OCSP says revoked, and nginx keeps no OCSP cache here.
        Assert.True(ocspAttempts == 1, $"the first request after the revoke got through; refused only after {ocspAttempts}.\n{_nginx.Log}");
        Assert.Contains("certificate revoked", _nginx.Log);

        // The CRL server still uses the bundle it loaded before the revoke.
        Assert.Equal(200, await StatusAsync(curl, crlPort));
        var sinceRefetch = Stopwatch.StartNew();
        await FetchCrlBundleAsync();
        await _nginx.ReloadAsync();
        // Workers of the old configuration finish first; poll until the new one answers.
        var (crlStatus, crlAttempts) = await PollUntilRefusedAsync(curl, crlPort);

        Timing.Report(output, "crl-bundle-refetch+nginx-reload->nginx-crl-refused", sinceRefetch.Elapsed, $"{crlAttempts} request(s)");
        Assert.True(crlStatus == 400, $"nginx with ssl_crl still answers {crlStatus} {RevokedWithin} after reloading with the new bundle.\n{_nginx.Log}");
    }

    [SkippableFact]
    public async Task NginxGateway_NoClientCertificate_Refused()
    {
        var (nginx, openssl, curl) = (RequiredTool.Nginx(), new Openssl(RequiredTool.Openssl(), _work.Path), RequiredTool.Curl());
        await NginxGateway.RequireOcspSupportAsync(nginx);
        await ServiceCertificates.WriteCaFilesAsync(service.Api, _work.Path);
        await ServiceCertificates.IssueLocalhostServerAsync(service.Api, openssl);
        await FetchCrlBundleAsync();
        (_nginx, var ports) = await NginxGateway.StartAsync(nginx, _work.Path, 2, p => Servers(p[0], p[1]));

        // nginx answers 400 "No required SSL certificate was sent" to a client without a certificate.
        Assert.Equal(400, await StatusAsync(curl, ports[0], withClientCertificate: false));
        Assert.Equal(400, await StatusAsync(curl, ports[1], withClientCertificate: false));
    }

    private string Servers(int ocspPort, int crlPort) => $$"""
            server {
                listen 127.0.0.1:{{ocspPort}} ssl;
                server_name localhost;
                ssl_certificate {{_work.File("server-fullchain.pem")}};
                ssl_certificate_key {{_work.File("server.key")}};
                ssl_verify_client on;
                ssl_client_certificate {{_work.File("chain.pem")}};
                ssl_verify_depth 2;
                ssl_ocsp on;
                location / { return 200 "ok\n"; }
            }
            server {
                listen 127.0.0.1:{{crlPort}} ssl;
                server_name localhost;
                ssl_certificate {{_work.File("server-fullchain.pem")}};
                ssl_certificate_key {{_work.File("server.key")}};
                ssl_verify_client on;
                ssl_client_certificate {{_work.File("chain.pem")}};
                ssl_verify_depth 2;
                ssl_crl {{_work.File("crl-bundle.pem")}};
                location / { return 200 "ok\n"; }
            }
        """;

    /// <summary>Replaces crl-bundle.pem atomically, as a cron job refreshing it should.</summary>
    private async Task FetchCrlBundleAsync()
    {
        await File.WriteAllTextAsync(_work.File("crl-bundle.pem.new"), await service.Api.GetTextAsync("pki/crl-bundle.pem"));
        File.Move(_work.File("crl-bundle.pem.new"), _work.File("crl-bundle.pem"), overwrite: true);
    }

    /// <summary>Requests the gateway until it answers 400 or <see cref="RevokedWithin"/> passes; returns the last status and the request count.</summary>
    private async Task<(int Status, int Attempts)> PollUntilRefusedAsync(string curl, int port)
    {
        var deadline = DateTime.UtcNow + RevokedWithin;
        for (var attempt = 1; ; attempt++)
        {
            var status = await StatusAsync(curl, port);
            if (status == 400 || DateTime.UtcNow >= deadline)
            {
                return (status, attempt);
            }
            await Task.Delay(50);
        }
    }

    /// <summary>One HTTPS request with a fresh connection (a new curl process); the HTTP status, or 0 if there was none.</summary>
    private async Task<int> StatusAsync(string curl, int port, bool withClientCertificate = true)
    {
        string[] credentials = withClientCertificate ? ["--cert", "gateway-client.pem", "--key", "gateway-client.key"] : [];
        var result = await ExternalCommand.RunAsync(curl,
        [
            "--silent", "--show-error", "--max-time", "10", "--cacert", "chain.pem", .. credentials,
            "--resolve", $"localhost:{port}:127.0.0.1", "--output", "body.txt", "--write-out", "%{http_code}",
            $"https://localhost:{port}/",
        ], _work.Path);
        return int.TryParse(result.StandardOutput.Trim(), out var status) ? status : 0;
    }
}
