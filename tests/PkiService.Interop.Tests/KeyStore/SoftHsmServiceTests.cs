using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.KeyStore;

/// <summary>
/// The real service process with its CA keys in a throwaway SoftHSM2 token (<c>Pki:KeyStore=Pkcs11</c>): what it issues,
/// revokes and publishes is checked with openssl, the keys with OpenSC's pkcs11-tool, and the start with a restart and a
/// wrong PIN. The tests of this class share the one token and process and leave it running.
/// </summary>
public sealed class SoftHsmServiceTests(SoftHsmServiceFixture fixture) : IClassFixture<SoftHsmServiceFixture>, IDisposable
{
    private const int ParallelEnrollments = 32;

    private static readonly TimeSpan ExitWithin = TimeSpan.FromSeconds(60);

    private readonly TempDirectory _work = new();

    public void Dispose() => _work.Dispose();

    [SkippableFact]
    public async Task CaKeysInToken_EnrollRevokeOcspCrl_AllVerifyWithOpenssl()
    {
        var service = fixture.Require();
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        await ServiceCertificates.WriteCaFilesAsync(service.Api, _work.Path);
        var revoked = await ServiceCertificates.IssueClientAsync(service.Api, openssl, "hsm-revoked");
        await ServiceCertificates.IssueClientAsync(service.Api, openssl, "hsm-active");

        // The issuing CA (signed by the token-held root) and the certificates (signed by the token-held issuing key).
        var verify = await openssl.RunAsync("verify", "-x509_strict", "-CAfile", "root.pem", "-untrusted", "ca.pem", "hsm-revoked.pem", "hsm-active.pem");
        Assert.True(verify.ExitCode == 0 && verify.StandardOutput.Contains("hsm-revoked.pem: OK") && verify.StandardOutput.Contains("hsm-active.pem: OK"), verify.ToString());
        var good = await OcspAsync(openssl, service, "hsm-revoked.pem");
        Assert.True(good.ExitCode == 0 && good.StandardError.Contains("Response verify OK") && good.StandardOutput.Contains("hsm-revoked.pem: good"), good.ToString());

        await service.Api.RevokeAsync(revoked.SerialNumber, "keyCompromise");

        var ocsp = await OcspAsync(openssl, service, "hsm-revoked.pem");
        Assert.True(ocsp.ExitCode == 0 && ocsp.StandardError.Contains("Response verify OK"), ocsp.ToString());
        Assert.True(ocsp.StandardOutput.Contains("hsm-revoked.pem: revoked") && ocsp.StandardOutput.Contains("Reason: keyCompromise"), ocsp.ToString());
        await File.WriteAllBytesAsync(_work.File("crl.der"), await service.Api.GetBytesAsync("pki/crl"));
        await File.WriteAllBytesAsync(_work.File("root.crl"), await service.Api.GetBytesAsync("pki/root.crl"));
        var crl = await openssl.RunAsync("crl", "-verify", "-inform", "DER", "-in", "crl.der", "-CAfile", "chain.pem", "-noout", "-text");
        Assert.True(crl.ExitCode == 0 && crl.StandardError.Contains("verify OK"), crl.ToString());
        Assert.Contains($"Serial Number: {revoked.SerialNumber}", crl.StandardOutput);
        var rootCrl = await openssl.RunAsync("crl", "-verify", "-inform", "DER", "-in", "root.crl", "-CAfile", "root.pem", "-noout");
        Assert.True(rootCrl.ExitCode == 0 && rootCrl.StandardError.Contains("verify OK"), rootCrl.ToString());
        (await openssl.RunAsync("crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem")).EnsureSuccess();
        var rejected = await openssl.RunAsync("verify", "-crl_check", "-CRLfile", "crl.pem", "-CAfile", "root.pem", "-untrusted", "ca.pem", "hsm-revoked.pem");
        var accepted = await openssl.RunAsync("verify", "-crl_check", "-CRLfile", "crl.pem", "-CAfile", "root.pem", "-untrusted", "ca.pem", "hsm-active.pem");
        Assert.True(rejected.ExitCode != 0 && rejected.StandardError.Contains("certificate revoked"), rejected.ToString());
        Assert.True(accepted.ExitCode == 0 && accepted.StandardOutput.Contains("hsm-active.pem: OK"), accepted.ToString());
    }

    [SkippableFact]
    public async Task Pkcs11Tool_ListObjects_ShowsBothCaPrivateKeysNeverExtractable()
    {
        fixture.Require();
        var pkcs11Tool = RequiredTool.Pkcs11Tool();

        var listed = (await fixture.RunToolAsync(pkcs11Tool,
            "--module", SoftHsmServiceFixture.LibraryPath, "--token-label", SoftHsmServiceFixture.TokenLabel,
            "--login", "--pin", SoftHsmServiceFixture.Pin, "--list-objects")).EnsureSuccess().StandardOutput;

        // pkcs11-tool prints one block per object: "Private Key Object; EC", then "label:", ..., "Access:" lines.
        var privateKeys = listed.Split("Private Key Object", StringSplitOptions.RemoveEmptyEntries)
            .Skip(listed.StartsWith("Private Key Object", StringComparison.Ordinal) ? 0 : 1)
            .Select(block => block.Split(['\n', '\r'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).TakeWhile(line => !line.Contains("Object;", StringComparison.Ordinal)).ToList())
            .ToDictionary(
                block => block.Single(line => line.StartsWith("label:", StringComparison.Ordinal))["label:".Length..].Trim(),
                block => block.Single(line => line.StartsWith("Access:", StringComparison.Ordinal)));
        Assert.True(privateKeys.ContainsKey("root-ca") && privateKeys.ContainsKey("issuing-ca"), listed);
        foreach (var label in new[] { "root-ca", "issuing-ca" })
        {
            Assert.Contains("never extractable", privateKeys[label]);
            Assert.Contains("sensitive", privateKeys[label]);
        }
        // The data directory holds no CA private key: they live in the token only.
        Assert.Empty(Directory.GetFiles(fixture.Service!.DataDirectory, "*-ca.key", SearchOption.AllDirectories));
    }

    [SkippableFact]
    public async Task Restart_CaKeysInToken_FindsSameRootAndIssuingCa()
    {
        var service = fixture.Require();
        var root = await service.Api.GetTextAsync("pki/root.pem");
        var issuing = await service.Api.GetTextAsync("pki/ca.pem");

        await service.RestartAsync();

        Assert.Equal(root, await service.Api.GetTextAsync("pki/root.pem"));
        Assert.Equal(issuing, await service.Api.GetTextAsync("pki/ca.pem"));
        // And the restarted process still signs with the token's issuing key.
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        await ServiceCertificates.WriteCaFilesAsync(service.Api, _work.Path);
        await ServiceCertificates.IssueClientAsync(service.Api, openssl, "after-restart");
        var verify = await openssl.RunAsync("verify", "-CAfile", "root.pem", "-untrusted", "ca.pem", "after-restart.pem");
        Assert.True(verify.ExitCode == 0, verify.ToString());
    }

    [SkippableFact]
    public async Task Restart_WrongPin_ExitsNonZeroWithOneLineNamingPinKeyAndNotThePin()
    {
        var service = fixture.Require();
        const string wrongPin = "wrong-pin-98765";

        var (exitCode, output) = await service.RunUntilExitAsync(new Dictionary<string, string?> { ["Pkcs11:Pin"] = wrongPin }, ExitWithin);
        await service.RestartAsync(); // the right PIN again, for the other tests

        Assert.True(exitCode is not null and not 0, $"exit code {exitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none (still running)"}\n{output}");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Count(line => line.Contains("Pkcs11:Pin", StringComparison.Ordinal)) == 1, $"expected one line naming Pkcs11:Pin:\n{output}");
        Assert.DoesNotContain(wrongPin, output, StringComparison.Ordinal);
        Assert.DoesNotContain(SoftHsmServiceFixture.Pin, output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    /// <summary>PKCS#11 sessions are not thread-safe: concurrent signatures must each get their own session from the pool.</summary>
    [SkippableFact]
    public async Task Enroll_32InParallelWithTokenKey_AllCreatedAndAllVerify()
    {
        var service = fixture.Require();
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        await ServiceCertificates.WriteCaFilesAsync(service.Api, _work.Path);
        var requests = new List<(string Name, string Token, string Csr)>();
        for (var i = 0; i < ParallelEnrollments; i++)
        {
            var name = $"parallel-{i}";
            var spiffeId = $"spiffe://example.org/{name}";
            requests.Add((name, await service.Api.CreateEnrollmentTokenAsync(name, [spiffeId]), Csr(name, spiffeId)));
        }

        using var start = new SemaphoreSlim(0);
        var enrollments = requests.Select(async request =>
        {
            await start.WaitAsync();
            using var message = new HttpRequestMessage(HttpMethod.Post, "api/v1/enroll") { Content = JsonContent.Create(new { csr = request.Csr, validity = "P30D" }) };
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", request.Token);
            using var response = await service.Api.Http.SendAsync(message);
            var body = await response.Content.ReadAsStringAsync();
            return (request.Name, response.StatusCode, Body: body);
        }).ToList();
        start.Release(ParallelEnrollments);
        var results = await Task.WhenAll(enrollments);

        Assert.All(results, result => Assert.True(result.StatusCode == HttpStatusCode.Created, $"{result.Name}: {(int)result.StatusCode} {result.Body}"));
        foreach (var result in results)
        {
            var certificate = System.Text.Json.JsonDocument.Parse(result.Body).RootElement.GetProperty("certificate").GetString()!;
            await File.WriteAllTextAsync(_work.File($"{result.Name}.pem"), certificate);
        }
        var verify = await openssl.RunAsync(["verify", "-CAfile", "root.pem", "-untrusted", "ca.pem", .. results.Select(result => $"{result.Name}.pem")]);
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.Equal(ParallelEnrollments, verify.StandardOutput.Split('\n').Count(line => line.EndsWith(".pem: OK", StringComparison.Ordinal)));
        Assert.DoesNotContain("CKR_", service.Output, StringComparison.Ordinal);
    }

    private static Task<CommandResult> OcspAsync(Openssl openssl, ServiceProcess service, string certificateFile) =>
        openssl.RunAsync("ocsp", "-issuer", "ca.pem", "-cert", certificateFile, "-url", $"{service.PublicBaseUrl}/ocsp", "-CAfile", "chain.pem", "-resp_text");

    /// <summary>A PEM CSR for a fresh P-256 key, CN=<paramref name="name"/>, SAN URI <paramref name="spiffeId"/>.</summary>
    private static string Csr(string name, string spiffeId)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var sans = new SubjectAlternativeNameBuilder();
        sans.AddUri(new Uri(spiffeId));
        request.CertificateExtensions.Add(sans.Build());
        return request.CreateSigningRequestPem();
    }
}
