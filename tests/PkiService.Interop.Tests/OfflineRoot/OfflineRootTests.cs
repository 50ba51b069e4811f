using System.Net;
using System.Net.Http.Headers;
using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.OfflineRoot;

/// <summary>
/// Issue 14, offline root and bringing your own issuing CA: a root made by plain openssl signs the CSR that
/// <c>ca init-issuing</c> wrote (directly or through an intermediate); the service then runs with no root key, issues
/// certificates that <c>openssl verify</c> accepts against that root, serves the whole chain, and serves the root CRL an
/// admin uploads, refusing one another key signed.
/// </summary>
[Collection(ServiceCollection.Name)] // its own service, prepared by the ca commands before it starts
public sealed class OfflineRootTests : IAsyncLifetime
{
    private readonly TempDirectory _work = new("pki-offline-root-");
    private readonly ServiceProcess _service = new();
    private Openssl _openssl = null!;
    private OfflineRootCeremony _ceremony = null!;

    public Task InitializeAsync()
    {
        _openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        _ceremony = new OfflineRootCeremony(_service, _openssl);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        _work.Dispose();
    }

    [SkippableFact]
    public async Task InstallIssuing_OpensslRootAndIntermediate_ServiceIssuesCertificatesThatVerifyAndServesUploadedRootCrl()
    {
        await _ceremony.CreateRootAsync("root", "/O=Example Corp/CN=Example Offline Root");
        await _ceremony.CreateIntermediateAsync("policy", "/O=Example Corp/CN=Example Policy CA", issuer: "root");
        (await _ceremony.RunCaAsync("init-issuing", "--csr", "issuing.csr")).EnsureSuccess();
        await File.WriteAllTextAsync(_work.File("issuing.ext"), OfflineRootCeremony.IssuingCaExtensions);
        await _ceremony.SignAsync("issuing.csr", "policy", "issuing.ext", "issuing.crt");
        await File.WriteAllTextAsync(_work.File("chain.pem"), await File.ReadAllTextAsync(_work.File("policy.crt")) + await File.ReadAllTextAsync(_work.File("root.crt")));

        var install = await _ceremony.RunCaAsync("install-issuing", "--cert", "issuing.crt", "--chain", "chain.pem");

        Assert.True(install.ExitCode == 0, install.ToString());
        await _service.InitializeAsync();
        Assert.False(File.Exists(Path.Combine(_service.DataDirectory, "root-ca.key")), "the service made a root key of its own");

        // Enroll with an openssl key and CSR; openssl verifies the certificate against the offline root alone, with the chain the service served.
        await _openssl.GenerateKeyAsync(KeyType.EcP256, "client.key");
        var csr = await _openssl.CreateCsrAsync("client.key", "client-1", "URI:spiffe://example.org/client-1", "client.csr");
        var token = await _service.Api.CreateEnrollmentTokenAsync("client-1", ["spiffe://example.org/client-1"]);
        var issued = await _service.Api.EnrollAsync(token, csr);
        await File.WriteAllTextAsync(_work.File("client.crt"), issued.Certificate);
        await File.WriteAllTextAsync(_work.File("enrollment-chain.pem"), issued.Chain);
        await File.WriteAllTextAsync(_work.File("served-chain.pem"), await _service.Api.GetTextAsync("pki/chain.pem"));
        Assert.Equal(3, CountCertificates(issued.Chain)); // issuing CA, policy CA, root
        Assert.Equal(issued.Chain, await File.ReadAllTextAsync(_work.File("served-chain.pem")));
        foreach (var untrusted in new[] { "enrollment-chain.pem", "served-chain.pem" })
        {
            var verify = await _openssl.RunAsync("verify", "-x509_strict", "-CAfile", "root.crt", "-untrusted", untrusted, "client.crt");
            Assert.True(verify.ExitCode == 0 && verify.StandardOutput.Contains("client.crt: OK", StringComparison.Ordinal), verify.ToString());
        }

        // No root CRL until an admin uploads one: reported by readiness, 404 for relying parties.
        Assert.Contains("root-crl: no root CRL uploaded", await ReadyAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await _service.Api.Http.GetAsync("pki/root.crl")).StatusCode);

        // A CRL under the root's name but signed by another key is refused and changes nothing.
        await _ceremony.CreateRootAsync("impostor", "/O=Example Corp/CN=Example Offline Root");
        var forged = await PutRootCrlAsync(await _ceremony.CreateCrlAsync("impostor", "impostor.crl"), "application/x-pem-file");
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Equal("application/problem+json", forged.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, (await _service.Api.Http.GetAsync("pki/root.crl")).StatusCode);

        // The root's own CRL, as DER: served byte for byte and in the bundle; openssl checks the served one against the root.
        await _ceremony.CreateCrlAsync("root", "root.crl.pem");
        (await _openssl.RunAsync("crl", "-in", "root.crl.pem", "-outform", "DER", "-out", "root.crl")).EnsureSuccess();
        var uploaded = await PutRootCrlAsync(await File.ReadAllBytesAsync(_work.File("root.crl")), "application/pkix-crl");
        Assert.Equal(HttpStatusCode.OK, uploaded.StatusCode);
        var served = await _service.Api.GetBytesAsync("pki/root.crl");
        Assert.Equal(await File.ReadAllBytesAsync(_work.File("root.crl")), served);
        await File.WriteAllBytesAsync(_work.File("served-root.crl"), served);
        var crlCheck = await _openssl.RunAsync("crl", "-inform", "DER", "-in", "served-root.crl", "-CAfile", "root.crt", "-noout");
        Assert.True(crlCheck.ExitCode == 0 && crlCheck.StandardError.Contains("verify OK", StringComparison.Ordinal), crlCheck.ToString());
        var bundle = await _service.Api.GetTextAsync("pki/crl-bundle.pem");
        Assert.Contains((await File.ReadAllTextAsync(_work.File("root.crl.pem"))).Trim(), bundle, StringComparison.Ordinal);
        Assert.DoesNotContain("root-crl", await ReadyAsync(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task InstallIssuing_WrongKeyNonCaOrBrokenChain_ExitsNonZeroWithOneLineAndInstallsNothing()
    {
        await _ceremony.CreateRootAsync("root", "/O=Example Corp/CN=Example Offline Root");
        (await _ceremony.RunCaAsync("init-issuing", "--csr", "issuing.csr")).EnsureSuccess();
        var chainBefore = await File.ReadAllTextAsync(Path.Combine(_service.DataDirectory, "ca-chain.crt"));

        // A CA certificate for another key than the one init-issuing made.
        (await _openssl.RunAsync("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "other.key", "-out", "other.csr", "-subj", "/CN=Other CA")).EnsureSuccess();
        await File.WriteAllTextAsync(_work.File("ca.ext"), OfflineRootCeremony.IssuingCaExtensions);
        await _ceremony.SignAsync("other.csr", "root", "ca.ext", "other.crt");
        // The right key, but an end-entity certificate.
        await File.WriteAllTextAsync(_work.File("leaf.ext"), "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n");
        await _ceremony.SignAsync("issuing.csr", "root", "leaf.ext", "not-ca.crt");
        // The right key as a CA, but the chain given is another root.
        await _ceremony.SignAsync("issuing.csr", "root", "ca.ext", "issuing.crt");
        await _ceremony.CreateRootAsync("unrelated", "/CN=Unrelated Root");

        foreach (var (cert, chain, expected) in new[]
        {
            ("other.crt", "root.crt", "another key"),
            ("not-ca.crt", "root.crt", "is not a CA"),
            ("issuing.crt", "unrelated.crt", "chain is broken"),
        })
        {
            var refused = await _ceremony.RunCaAsync("install-issuing", "--cert", cert, "--chain", chain);

            Assert.True(refused.ExitCode != 0, refused.ToString());
            var lines = refused.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length == 1 && lines[0].Contains(expected, StringComparison.Ordinal), refused.ToString());
            Assert.Equal(chainBefore, await File.ReadAllTextAsync(Path.Combine(_service.DataDirectory, "ca-chain.crt")));
        }
    }

    [SkippableFact]
    public async Task ImportIssuing_ExistingCaWithEncryptedKey_ServiceIssuesUnderIt()
    {
        await _ceremony.CreateRootAsync("root", "/O=Example Corp/CN=Example Corporate Root");
        (await _openssl.RunAsync("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "existing-plain.key", "-out", "existing.csr", "-subj", "/O=Example Corp/CN=Example Existing Issuing CA")).EnsureSuccess();
        await File.WriteAllTextAsync(_work.File("ca.ext"), OfflineRootCeremony.IssuingCaExtensions);
        await _ceremony.SignAsync("existing.csr", "root", "ca.ext", "existing.crt");
        await File.WriteAllTextAsync(_work.File("key-pass.txt"), "existing key passphrase\n");
        (await _openssl.RunAsync("pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "existing-plain.key", "-passout", "file:key-pass.txt", "-out", "existing.key")).EnsureSuccess();

        var import = await _ceremony.RunCaAsync("import-issuing", "--cert", "existing.crt", "--key", "existing.key", "--chain", "root.crt",
            "--key-passphrase-file", "key-pass.txt");

        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.Contains("ENCRYPTED PRIVATE KEY", await File.ReadAllTextAsync(Path.Combine(_service.DataDirectory, "issuing-ca.key")), StringComparison.Ordinal);
        await _service.InitializeAsync();
        await _openssl.GenerateKeyAsync(KeyType.EcP256, "client.key");
        var csr = await _openssl.CreateCsrAsync("client.key", "client-2", "URI:spiffe://example.org/client-2", "client.csr");
        var issued = await _service.Api.EnrollAsync(await _service.Api.CreateEnrollmentTokenAsync("client-2", ["spiffe://example.org/client-2"]), csr);
        await File.WriteAllTextAsync(_work.File("client.crt"), issued.Certificate);
        await File.WriteAllTextAsync(_work.File("chain.pem"), issued.Chain);
        var verify = await _openssl.RunAsync("verify", "-x509_strict", "-CAfile", "root.crt", "-untrusted", "chain.pem", "client.crt");
        Assert.True(verify.ExitCode == 0 && verify.StandardOutput.Contains("client.crt: OK", StringComparison.Ordinal), verify.ToString());
        Assert.Equal(
            (await _openssl.RunAsync("x509", "-in", "existing.crt", "-noout", "-fingerprint", "-sha256")).EnsureSuccess().StandardOutput,
            (await _openssl.RunAsync("x509", "-in", "chain.pem", "-noout", "-fingerprint", "-sha256")).EnsureSuccess().StandardOutput);
    }

    private static int CountCertificates(string pem) => pem.Split("-----BEGIN CERTIFICATE-----").Length - 1;

    private async Task<string> ReadyAsync() => await (await _service.Api.Http.GetAsync("health/ready")).Content.ReadAsStringAsync();

    private Task<HttpResponseMessage> PutRootCrlAsync(string pem, string contentType) => PutRootCrlAsync(System.Text.Encoding.ASCII.GetBytes(pem), contentType);

    private async Task<HttpResponseMessage> PutRootCrlAsync(byte[] body, string contentType)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "api/v1/root-crl") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ServiceProcess.AdminApiKey);
        return await _service.Api.Http.SendAsync(request);
    }
}
