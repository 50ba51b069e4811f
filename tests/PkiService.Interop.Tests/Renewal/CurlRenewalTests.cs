using System.Text.Json;
using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Renewal;

/// <summary>
/// POST /api/v1/renew on the real service's mTLS listener, driven by curl and openssl over real TLS. The listener asks
/// for a client certificate but lets the handshake finish without one, so every refusal, including "no certificate",
/// is an HTTP 401 problem+json the client can read. (The expired case needs a clock: see the API tests.)
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class CurlRenewalTests(ServiceProcess service) : IDisposable
{
    private readonly TempDirectory _work = new();

    public void Dispose() => _work.Dispose();

    [SkippableFact]
    public async Task Renew_CurrentCertificate_NewCertificateVerifiesAndOldIsSuperseded()
    {
        var (openssl, curl) = Tools();
        var name = UniqueName("rotating");
        var oldSerial = await EnrollAsync(openssl, name, "old");
        await openssl.GenerateKeyAsync(KeyType.EcP256, "new.key");
        await openssl.CreateCsrAsync("new.key", name, San(name), "new.csr");

        var answer = await RenewAsync(curl, "new.csr", "old.pem", "old.key");

        Assert.True(answer.Status == 201, answer.ToString());
        var renewed = JsonDocument.Parse(answer.Body).RootElement;
        await File.WriteAllTextAsync(_work.File("new.pem"), renewed.GetProperty("certificate").GetString());
        var verify = await openssl.RunAsync("verify", "-CAfile", "root.pem", "-untrusted", "ca.pem", "new.pem");
        Assert.True(verify.ExitCode == 0 && verify.StandardOutput.Contains("new.pem: OK"), verify.ToString());
        var certificateKey = (await openssl.RunAsync("x509", "-in", "new.pem", "-noout", "-pubkey")).EnsureSuccess().StandardOutput;
        var newKey = (await openssl.RunAsync("pkey", "-in", "new.key", "-pubout")).EnsureSuccess().StandardOutput;
        Assert.Equal(newKey, certificateKey);
        var text = await openssl.TextAsync("new.pem");
        Assert.Contains($"CN={name}", text.Replace(" = ", "="));
        Assert.Contains(San(name), text);
        Assert.Equal("superseded", await service.Api.GetStatusAsync(oldSerial));
        Assert.Equal("active", await service.Api.GetStatusAsync(renewed.GetProperty("serialNumber").GetString()!));

        // The new certificate renews in turn: rotation is a loop.
        await openssl.GenerateKeyAsync(KeyType.EcP256, "third.key");
        await openssl.CreateCsrAsync("third.key", name, San(name), "third.csr");
        var again = await RenewAsync(curl, "third.csr", "new.pem", "new.key");
        Assert.True(again.Status == 201, again.ToString());
    }

    [SkippableFact]
    public async Task Renew_WithoutClientCertificate_Returns401()
    {
        var (openssl, curl) = Tools();
        var name = UniqueName("anonymous");
        await EnrollAsync(openssl, name, "old");
        await openssl.CreateCsrAsync("old.key", name, San(name), "new.csr");

        var answer = await RenewAsync(curl, "new.csr");

        AssertProblem(answer, 401);
    }

    [SkippableFact]
    public async Task Renew_RevokedCertificate_Returns401()
    {
        var (openssl, curl) = Tools();
        var name = UniqueName("revoked");
        var serial = await EnrollAsync(openssl, name, "old");
        await service.Api.RevokeAsync(serial);
        await openssl.GenerateKeyAsync(KeyType.EcP256, "new.key");
        await openssl.CreateCsrAsync("new.key", name, San(name), "new.csr");

        var answer = await RenewAsync(curl, "new.csr", "old.pem", "old.key");

        AssertProblem(answer, 401);
        Assert.Contains("revoked", answer.Body);
        Assert.Equal("revoked", await service.Api.GetStatusAsync(serial));
    }

    [SkippableFact]
    public async Task Renew_SupersededCertificate_Returns401()
    {
        var (openssl, curl) = Tools();
        var name = UniqueName("twice");
        await EnrollAsync(openssl, name, "old");
        await openssl.GenerateKeyAsync(KeyType.EcP256, "new.key");
        await openssl.CreateCsrAsync("new.key", name, San(name), "new.csr");
        var first = await RenewAsync(curl, "new.csr", "old.pem", "old.key");
        Assert.Equal(201, first.Status);
        await openssl.GenerateKeyAsync(KeyType.EcP256, "other.key");
        await openssl.CreateCsrAsync("other.key", name, San(name), "other.csr");

        var second = await RenewAsync(curl, "other.csr", "old.pem", "old.key");

        AssertProblem(second, 401);
        Assert.Contains("already renewed", second.Body);
        // The same renewal sent again (its answer lost, say) gets the certificate it made, not a second one.
        var again = await RenewAsync(curl, "new.csr", "old.pem", "old.key");
        Assert.Equal(201, again.Status);
        Assert.Equal(
            System.Text.Json.JsonDocument.Parse(first.Body).RootElement.GetProperty("serialNumber").GetString(),
            System.Text.Json.JsonDocument.Parse(again.Body).RootElement.GetProperty("serialNumber").GetString());
    }

    [SkippableFact]
    public async Task Renew_ForeignCaCertificate_Returns401()
    {
        var (openssl, curl) = Tools();
        var name = UniqueName("foreign");
        await WriteCaFilesAsync();
        // Same names as a certificate of ours would have, but self-signed by openssl: not from our issuing CA.
        (await openssl.RunAsync("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "foreign.key", "-out", "foreign.pem", "-days", "1", "-subj", $"/CN={name}",
            "-addext", $"subjectAltName={San(name)}")).EnsureSuccess();
        await openssl.CreateCsrAsync("foreign.key", name, San(name), "new.csr");

        var answer = await RenewAsync(curl, "new.csr", "foreign.pem", "foreign.key");

        AssertProblem(answer, 401);
        Assert.Contains("not issued by this service", answer.Body);
    }

    [SkippableFact]
    public async Task Renew_CsrForAnotherSubject_Returns400AndKeepsCertificateActive()
    {
        var (openssl, curl) = Tools();
        var name = UniqueName("subject");
        var serial = await EnrollAsync(openssl, name, "old");
        await openssl.GenerateKeyAsync(KeyType.EcP256, "new.key");
        await openssl.CreateCsrAsync("new.key", "someone-else", San(name), "new.csr");

        var answer = await RenewAsync(curl, "new.csr", "old.pem", "old.key");

        AssertProblem(answer, 400);
        Assert.Contains("someone-else", answer.Body);
        Assert.Equal("active", await service.Api.GetStatusAsync(serial));
    }

    [SkippableFact]
    public async Task Renew_SameKey_Returns400SayingToGenerateANewKeyAndKeepsCertificateActive()
    {
        var (openssl, curl) = Tools();
        var name = UniqueName("samekey");
        var serial = await EnrollAsync(openssl, name, "old");
        await openssl.CreateCsrAsync("old.key", name, San(name), "again.csr");

        var answer = await RenewAsync(curl, "again.csr", "old.pem", "old.key");

        AssertProblem(answer, 400);
        Assert.Contains("new key", answer.Body);
        Assert.Equal("active", await service.Api.GetStatusAsync(serial));
    }

    /// <summary>A server certificate (serverAuth only) renews itself over curl: curl offers it and the listener accepts it.</summary>
    [SkippableFact]
    public async Task Renew_ServerCertificate_RenewsAsServerCertificate()
    {
        var (openssl, curl) = Tools();
        var name = UniqueName("server");
        var oldSerial = await EnrollAsync(openssl, name, "old", profile: "server");
        Assert.Contains("TLS Web Server Authentication", await openssl.TextAsync("old.pem"));
        await openssl.GenerateKeyAsync(KeyType.EcP256, "new.key");
        await openssl.CreateCsrAsync("new.key", name, San(name), "new.csr");

        var answer = await RenewAsync(curl, "new.csr", "old.pem", "old.key");

        Assert.True(answer.Status == 201, answer.ToString());
        await File.WriteAllTextAsync(_work.File("new.pem"), JsonDocument.Parse(answer.Body).RootElement.GetProperty("certificate").GetString());
        var text = await openssl.TextAsync("new.pem");
        Assert.Contains("TLS Web Server Authentication", text);
        Assert.DoesNotContain("TLS Web Client Authentication", text);
        Assert.Equal("superseded", await service.Api.GetStatusAsync(oldSerial));
    }

    [SkippableFact]
    public async Task Renew_OnPlainHttpListener_Returns404()
    {
        var (openssl, curl) = Tools();
        var name = UniqueName("plain");
        await EnrollAsync(openssl, name, "old");
        await openssl.CreateCsrAsync("old.key", name, San(name), "new.csr");

        var answer = await RenewAsync(curl, "new.csr", url: new Uri(service.BaseAddress, "api/v1/renew"));

        AssertProblem(answer, 404);
        Assert.Contains(service.MtlsAddress.Authority, answer.Body);
    }

    [SkippableFact]
    public async Task RotateScript_RenewsInPlace_ThenFailsNonZeroWithTheReplacedCertificate()
    {
        var (openssl, _) = Tools();
        RequiredTool.Jq();
        var name = UniqueName("script");
        var oldSerial = await EnrollAsync(openssl, name, "client");
        File.Copy(_work.File("client.pem"), _work.File("before.pem"));
        File.Copy(_work.File("client.key"), _work.File("before.key"));
        var url = new Uri(service.MtlsAddress, "api/v1/renew").ToString();

        var rotated = await ExternalCommand.RunAsync("bash", [RotateScript(), "client.pem", "client.key", "chain.pem", url], _work.Path);

        Assert.True(rotated.ExitCode == 0, rotated.ToString());
        Assert.NotEqual(await File.ReadAllTextAsync(_work.File("before.key")), await File.ReadAllTextAsync(_work.File("client.key")));
        var verify = await openssl.RunAsync("verify", "-CAfile", "chain.pem", "client.pem");
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.Equal(
            (await openssl.RunAsync("pkey", "-in", "client.key", "-pubout")).EnsureSuccess().StandardOutput,
            (await openssl.RunAsync("x509", "-in", "client.pem", "-noout", "-pubkey")).EnsureSuccess().StandardOutput);
        Assert.Equal("superseded", await service.Api.GetStatusAsync(oldSerial));

        var (beforePem, beforeKey) = (await File.ReadAllTextAsync(_work.File("before.pem")), await File.ReadAllTextAsync(_work.File("before.key")));
        var refused = await ExternalCommand.RunAsync("bash", [RotateScript(), "before.pem", "before.key", "chain.pem", url], _work.Path);

        Assert.True(refused.ExitCode != 0, refused.ToString());
        Assert.Contains("401", refused.StandardError);
        Assert.Equal(beforePem, await File.ReadAllTextAsync(_work.File("before.pem")));
        Assert.Equal(beforeKey, await File.ReadAllTextAsync(_work.File("before.key")));
        Assert.Empty(Directory.GetDirectories(_work.Path, ".rotate.*"));
    }

    private (Openssl Openssl, string Curl) Tools() => (new Openssl(RequiredTool.Openssl(), _work.Path), RequiredTool.Curl());

    private static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    private static string San(string name) => $"URI:spiffe://example.org/{name}";

    /// <summary>Enrolls <c>&lt;file&gt;.key/.pem</c> for CN=<paramref name="name"/> with openssl, writes the CA files; returns the serial.</summary>
    private async Task<string> EnrollAsync(Openssl openssl, string name, string file, string profile = "client")
    {
        await openssl.GenerateKeyAsync(KeyType.EcP256, $"{file}.key");
        var csr = await openssl.CreateCsrAsync($"{file}.key", name, San(name), $"{file}.csr");
        var token = await service.Api.CreateEnrollmentTokenAsync(name, [San(name)["URI:".Length..]], profile);
        var issued = await service.Api.EnrollAsync(token, csr);
        await File.WriteAllTextAsync(_work.File($"{file}.pem"), issued.Certificate);
        await WriteCaFilesAsync();
        return issued.SerialNumber;
    }

    private async Task WriteCaFilesAsync()
    {
        await File.WriteAllTextAsync(_work.File("root.pem"), await service.Api.GetTextAsync("pki/root.pem"));
        await File.WriteAllTextAsync(_work.File("ca.pem"), await service.Api.GetTextAsync("pki/ca.pem"));
        await File.WriteAllTextAsync(_work.File("chain.pem"), await service.Api.GetTextAsync("pki/chain.pem"));
    }

    /// <summary>curl POST of the CSR file to /api/v1/renew, with a client certificate when given.</summary>
    private async Task<CurlAnswer> RenewAsync(string curl, string csrFile, string? certificate = null, string? key = null, Uri? url = null)
    {
        var body = JsonSerializer.Serialize(new { csr = await File.ReadAllTextAsync(_work.File(csrFile)) });
        await File.WriteAllTextAsync(_work.File("body.json"), body);
        File.Delete(_work.File("answer.json"));
        string[] credentials = certificate is null ? [] : ["--cert", certificate, "--key", key!];
        var result = await ExternalCommand.RunAsync(curl,
        [
            "--silent", "--show-error", "--max-time", "20", "--cacert", "chain.pem", .. credentials,
            "-H", "Content-Type: application/json", "--data", "@body.json",
            "--output", "answer.json", "--write-out", "%{http_code} %{content_type}",
            (url ?? new Uri(service.MtlsAddress, "api/v1/renew")).ToString(),
        ], _work.Path);
        Assert.True(result.ExitCode == 0, $"curl failed:\n{result}\n{service.Log}");
        var parts = result.StandardOutput.Trim().Split(' ', 2);
        var answer = File.Exists(_work.File("answer.json")) ? await File.ReadAllTextAsync(_work.File("answer.json")) : "";
        return new CurlAnswer(int.Parse(parts[0]), parts.Length > 1 ? parts[1] : "", answer);
    }

    private static void AssertProblem(CurlAnswer answer, int status)
    {
        Assert.True(answer.Status == status, answer.ToString());
        Assert.StartsWith("application/problem+json", answer.ContentType);
        var problem = JsonDocument.Parse(answer.Body).RootElement;
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
    }

    /// <summary><c>ops/rotate-certificate.sh</c> of the repository these tests were built from.</summary>
    private static string RotateScript()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var script = Path.Combine(directory.FullName, "ops", "rotate-certificate.sh");
            if (File.Exists(script))
            {
                return script;
            }
        }
        throw new InvalidOperationException("ops/rotate-certificate.sh not found above " + AppContext.BaseDirectory);
    }

    private sealed record CurlAnswer(int Status, string ContentType, string Body);
}
