using System.Text.Json;
using PkiService.Interop.Tests.Gateway;
using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Proxy;

/// <summary>
/// Renewal behind a TLS-terminating reverse proxy (issue 15): a real nginx terminates mTLS (<c>ssl_verify_client on</c>,
/// our chain as <c>ssl_client_certificate</c>) and forwards the verified certificate as <c>$ssl_client_escaped_cert</c>
/// in <c>X-Forwarded-Client-Cert</c> to the real service's plain listener, connecting from 127.0.0.2
/// (<c>proxy_bind</c>), the service's only trusted proxy (<c>ForwardedHeaders:KnownProxies:0=127.0.0.2</c>). curl, at
/// 127.0.0.1, is a client: through nginx it renews; the same header sent straight to the service is ignored.
/// The nginx configuration has the shape of <c>ops/nginx/renewal-proxy.conf</c>.
/// </summary>
public sealed class NginxRenewalProxyTests : IAsyncLifetime
{
    private const string ProxyAddress = "127.0.0.2";
    private const string Header = "X-Forwarded-Client-Cert";

    private readonly TempDirectory _work = new("pki-interop-proxy-");
    private ServiceProcess _service = null!;
    private NginxGateway? _nginx;

    public Task InitializeAsync()
    {
        _service = new ServiceProcess
        {
            Settings = new Dictionary<string, string> { ["ForwardedHeaders:KnownProxies:0"] = ProxyAddress },
        };
        return _service.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        _nginx?.Dispose();
        await _service.DisposeAsync();
        _work.Dispose();
    }

    [SkippableFact]
    public async Task Renew_ThroughNginxTerminatingMtls_Returns201NewCertificateVerifiesAndOldIsSuperseded()
    {
        var (nginx, openssl, curl) = Tools();
        var client = await PrepareAsync(openssl, "proxied-client");
        var bystander = await ServiceCertificates.IssueClientAsync(_service.Api, openssl, "bystander");
        var port = await StartNginxAsync(nginx);
        await openssl.GenerateKeyAsync(KeyType.EcP256, "new.key");
        await openssl.CreateCsrAsync("new.key", "proxied-client", "URI:spiffe://example.org/proxied-client", "new.csr");

        // The client also sends the header itself, naming another certificate: nginx replaces it with the one it verified.
        var answer = await RenewAsync(curl, $"https://localhost:{port}/api/v1/renew", "new.csr",
            ["--cert", "proxied-client.pem", "--key", "proxied-client.key", "--resolve", $"localhost:{port}:127.0.0.1",
             "-H", $"{Header}: {await EscapedAsync("bystander.pem")}"]);

        Assert.True(answer.Status == 201, $"{answer}\nnginx:\n{_nginx!.Log}\nservice:\n{_service.Log}");
        var renewed = JsonDocument.Parse(answer.Body).RootElement;
        await File.WriteAllTextAsync(_work.File("new.pem"), renewed.GetProperty("certificate").GetString());
        var verify = await openssl.RunAsync("verify", "-CAfile", "root.pem", "-untrusted", "ca.pem", "new.pem");
        Assert.True(verify.ExitCode == 0 && verify.StandardOutput.Contains("new.pem: OK"), verify.ToString());
        Assert.Equal(
            (await openssl.RunAsync("pkey", "-in", "new.key", "-pubout")).EnsureSuccess().StandardOutput,
            (await openssl.RunAsync("x509", "-in", "new.pem", "-noout", "-pubkey")).EnsureSuccess().StandardOutput);
        Assert.Contains("CN=proxied-client", (await openssl.TextAsync("new.pem")).Replace(" = ", "="));
        Assert.Equal("superseded", await _service.Api.GetStatusAsync(client.SerialNumber));
        Assert.Equal("active", await _service.Api.GetStatusAsync(renewed.GetProperty("serialNumber").GetString()!));
        Assert.Equal("active", await _service.Api.GetStatusAsync(bystander.SerialNumber));
        Assert.True(renewed.TryGetProperty("renewAfter", out _), answer.Body);
    }

    [SkippableFact]
    public async Task Renew_SameHeaderSentStraightToTheServiceFromANonProxyAddress_Returns401AndChangesNothing()
    {
        var (nginx, openssl, curl) = Tools();
        var client = await PrepareAsync(openssl, "direct-client");
        await StartNginxAsync(nginx);
        await openssl.GenerateKeyAsync(KeyType.EcP256, "new.key");
        await openssl.CreateCsrAsync("new.key", "direct-client", "URI:spiffe://example.org/direct-client", "new.csr");

        // What nginx would send, but from 127.0.0.1, which is not a known proxy; claiming to be the proxy does not help.
        var answer = await RenewAsync(curl, new Uri(_service.BaseAddress, "api/v1/renew").ToString(), "new.csr",
            ["-H", $"{Header}: {await EscapedAsync("direct-client.pem")}", "-H", $"X-Forwarded-For: {ProxyAddress}"]);

        Assert.True(answer.Status == 401, answer.ToString());
        Assert.StartsWith("application/problem+json", answer.ContentType);
        Assert.Equal(401, JsonDocument.Parse(answer.Body).RootElement.GetProperty("status").GetInt32());
        Assert.Equal("active", await _service.Api.GetStatusAsync(client.SerialNumber));
        var logged = $"Ignored the {Header} header from 127.0.0.1";
        Assert.True(await Wait.UntilAsync(() => _service.Output.Contains(logged, StringComparison.Ordinal), TimeSpan.FromSeconds(10)), _service.Output);
    }

    private (string Nginx, Openssl Openssl, string Curl) Tools() =>
        (RequiredTool.Nginx(), new Openssl(RequiredTool.Openssl(), _work.Path), RequiredTool.Curl());

    /// <summary>CA files, nginx's server certificate, and a client certificate <c>&lt;name&gt;.pem/.key</c>.</summary>
    private async Task<EnrollmentResult> PrepareAsync(Openssl openssl, string name)
    {
        await ServiceCertificates.WriteCaFilesAsync(_service.Api, _work.Path);
        await ServiceCertificates.IssueLocalhostServerAsync(_service.Api, openssl);
        return await ServiceCertificates.IssueClientAsync(_service.Api, openssl, name);
    }

    /// <summary>nginx in front of the service, as in ops/nginx/renewal-proxy.conf; returns its TLS port.</summary>
    private async Task<int> StartNginxAsync(string nginx)
    {
        var upstream = $"http://127.0.0.1:{_service.BaseAddress.Port}";
        (_nginx, var ports) = await NginxGateway.StartAsync(nginx, _work.Path, 1, p => $$"""
                server {
                    listen 127.0.0.1:{{p[0]}} ssl;
                    server_name localhost;
                    ssl_certificate {{_work.File("server-fullchain.pem")}};
                    ssl_certificate_key {{_work.File("server.key")}};
                    ssl_verify_client on;
                    ssl_client_certificate {{_work.File("chain.pem")}};
                    ssl_verify_depth 2;
                    proxy_bind {{ProxyAddress}};
                    location = /api/v1/renew {
                        proxy_set_header {{Header}} $ssl_client_escaped_cert;
                        proxy_set_header X-Forwarded-For $remote_addr;
                        proxy_pass {{upstream}};
                    }
                    location / {
                        proxy_set_header {{Header}} "";
                        proxy_set_header X-Forwarded-For $remote_addr;
                        proxy_pass {{upstream}};
                    }
                }
            """);
        return ports[0];
    }

    /// <summary>The certificate file URL-escaped, as nginx's <c>$ssl_client_escaped_cert</c> gives it.</summary>
    private async Task<string> EscapedAsync(string file) => Uri.EscapeDataString(await File.ReadAllTextAsync(_work.File(file)));

    private async Task<CurlAnswer> RenewAsync(string curl, string url, string csrFile, string[] extra)
    {
        await File.WriteAllTextAsync(_work.File("body.json"), JsonSerializer.Serialize(new { csr = await File.ReadAllTextAsync(_work.File(csrFile)) }));
        File.Delete(_work.File("answer.json"));
        var result = await ExternalCommand.RunAsync(curl,
        [
            "--silent", "--show-error", "--max-time", "20", "--cacert", "chain.pem", .. extra,
            "-H", "Content-Type: application/json", "--data", "@body.json",
            "--output", "answer.json", "--write-out", "%{http_code} %{content_type}", url,
        ], _work.Path);
        Assert.True(result.ExitCode == 0, $"curl failed:\n{result}\n{_service.Log}");
        var parts = result.StandardOutput.Trim().Split(' ', 2);
        var body = File.Exists(_work.File("answer.json")) ? await File.ReadAllTextAsync(_work.File("answer.json")) : "";
        return new CurlAnswer(int.Parse(parts[0]), parts.Length > 1 ? parts[1] : "", body);
    }

    private sealed record CurlAnswer(int Status, string ContentType, string Body);
}
