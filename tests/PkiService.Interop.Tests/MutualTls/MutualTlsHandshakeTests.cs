using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.MutualTls;

/// <summary>
/// A server and a client certificate issued by the service complete a real mTLS handshake between
/// <c>openssl s_server</c> (which requires a client certificate) and <c>curl</c>.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class MutualTlsHandshakeTests(ServiceProcess service) : IDisposable
{
    private static readonly TimeSpan ServerStartTimeout = TimeSpan.FromSeconds(20);
    private const int ServerStartAttempts = 3;

    private readonly TempDirectory _work = new();
    private BackgroundProcess? _server;

    public void Dispose()
    {
        _server?.Dispose();
        _work.Dispose();
    }

    [SkippableFact]
    public async Task MutualTls_ServiceIssuedClientCertificate_CurlGets200FromOpensslServer()
    {
        var (openssl, curl) = (RequiredTool.Openssl(), RequiredTool.Curl());
        var port = await StartServerWithServiceCertificatesAsync(openssl);

        var result = await CurlAsync(curl, port, "--cert", "client.pem", "--key", "client.key");

        Assert.True(result.ExitCode == 0 && result.StandardOutput.Trim() == "200", $"{result}\n{_server!.Describe()}");
        var page = await File.ReadAllTextAsync(_work.File("body.html"));
        Assert.Contains("s_server", page); // the -www status page echoes the server's command line
        Assert.Contains("Ciphers supported in s_server binary", page);
    }

    [SkippableFact]
    public async Task MutualTls_NoClientCertificate_OpensslServerRefusesHandshake()
    {
        var (openssl, curl) = (RequiredTool.Openssl(), RequiredTool.Curl());
        var port = await StartServerWithServiceCertificatesAsync(openssl);

        var result = await CurlAsync(curl, port);

        Assert.True(result.ExitCode != 0 && result.StandardOutput.Trim() != "200", $"curl without a client certificate should fail:\n{result}");
        // curl accepted the server certificate; s_server then refused the handshake for want of a client certificate.
        Assert.True(
            await Wait.UntilAsync(() => _server!.Output.Contains("peer did not return a certificate"), TimeSpan.FromSeconds(5)),
            $"{result}\n{_server!.Describe()}");
    }

    /// <summary>Issues server and client certificates through the API, then starts s_server with them; returns its port.</summary>
    private async Task<int> StartServerWithServiceCertificatesAsync(string opensslPath)
    {
        var openssl = new Openssl(opensslPath, _work.Path);

        await openssl.GenerateKeyAsync(KeyType.EcP256, "server.key");
        var serverCsr = await openssl.CreateCsrAsync("server.key", "localhost", "DNS:localhost,IP:127.0.0.1", "server.csr");
        var serverToken = await service.Api.CreateEnrollmentTokenAsync("localhost", ["localhost", "127.0.0.1"], profile: "server");
        var server = await service.Api.EnrollAsync(serverToken, serverCsr);
        await File.WriteAllTextAsync(_work.File("server.pem"), server.Certificate);

        await openssl.GenerateKeyAsync(KeyType.EcP256, "client.key");
        var clientCsr = await openssl.CreateCsrAsync("client.key", "client-mtls", "URI:spiffe://example.org/client-mtls", "client.csr");
        var clientToken = await service.Api.CreateEnrollmentTokenAsync("client-mtls", ["spiffe://example.org/client-mtls"]);
        var client = await service.Api.EnrollAsync(clientToken, clientCsr);
        await File.WriteAllTextAsync(_work.File("client.pem"), client.Certificate);

        await File.WriteAllTextAsync(_work.File("chain.pem"), await service.Api.GetTextAsync("pki/chain.pem"));

        for (var attempt = 1; ; attempt++)
        {
            var port = Network.FreeLoopbackPort();
            _server = BackgroundProcess.Start(opensslPath,
            [
                "s_server", "-Verify", "1", "-verify_return_error", "-CAfile", "chain.pem",
                "-cert", "server.pem", "-key", "server.key", "-accept", $"127.0.0.1:{port}", "-www",
            ], _work.Path);
            // s_server prints ACCEPT once it listens.
            if (await Wait.UntilAsync(() => _server.Output.Contains("ACCEPT") || _server.HasExited, ServerStartTimeout)
                && !_server.HasExited)
            {
                return port;
            }
            var failure = _server.Describe();
            _server.Dispose();
            _server = null;
            if (attempt == ServerStartAttempts)
            {
                throw new InvalidOperationException($"openssl s_server did not start:\n{failure}");
            }
        }
    }

    private Task<CommandResult> CurlAsync(string curl, int port, params string[] clientCredentials) =>
        ExternalCommand.RunAsync(curl,
        [
            "--silent", "--show-error", "--max-time", "20",
            "--cacert", "chain.pem", .. clientCredentials,
            "--resolve", $"localhost:{port}:127.0.0.1",
            "--output", "body.html", "--write-out", "%{http_code}",
            $"https://localhost:{port}/",
        ], _work.Path);
}
