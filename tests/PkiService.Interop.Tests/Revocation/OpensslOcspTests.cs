using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Revocation;

/// <summary><c>openssl ocsp</c> asks the service's responder (POST /ocsp) and verifies every answer against the chain.</summary>
[Collection(ServiceCollection.Name)]
public sealed class OpensslOcspTests(ServiceProcess service) : IDisposable
{
    /// <summary>A serial number this CA never issued (the service's serials are 16 random bytes).</summary>
    private const string NeverIssuedSerial = "0x0102030405060708";

    private readonly TempDirectory _work = new();

    public void Dispose() => _work.Dispose();

    [SkippableFact]
    public async Task OpensslOcsp_IssuedCertificate_AnswersGoodAndEchoesNonce()
    {
        var openssl = await PrepareAsync("ocsp-good");

        var result = await AskAsync(openssl, "-cert", "ocsp-good.pem", "-resp_text");

        AssertVerified(result);
        Assert.Contains("ocsp-good.pem: good", result.StandardOutput);
        AssertNonceEchoed(result);
    }

    [SkippableFact]
    public async Task OpensslOcsp_AfterRevoke_AnswersRevokedWithReason()
    {
        var openssl = await PrepareAsync("ocsp-revoked");
        await ServiceCertificates.IssueClientAsync(service.Api, openssl, "ocsp-other");
        Assert.Contains("ocsp-revoked.pem: good", (await AskAsync(openssl, "-cert", "ocsp-revoked.pem")).StandardOutput);

        var revoked = await service.Api.RevokeAsync(await SerialOfAsync(openssl, "ocsp-revoked.pem"), "keyCompromise");
        Assert.Equal("keyCompromise", revoked.RevocationReason);
        // The contract: when the revoke call has returned, the very next answer says revoked.
        var result = await AskAsync(openssl, "-cert", "ocsp-revoked.pem", "-resp_text");

        AssertVerified(result);
        Assert.Contains("ocsp-revoked.pem: revoked", result.StandardOutput);
        Assert.Contains("Reason: keyCompromise", result.StandardOutput);
        Assert.Contains("Revocation Time:", result.StandardOutput);
        AssertNonceEchoed(result);
        // Another certificate of the same CA is not affected.
        Assert.Contains("ocsp-other.pem: good", (await AskAsync(openssl, "-cert", "ocsp-other.pem")).StandardOutput);
    }

    [SkippableFact]
    public async Task OpensslOcsp_NeverIssuedSerial_AnswersUnknown()
    {
        var openssl = await PrepareAsync(name: null);

        var result = await AskAsync(openssl, "-serial", NeverIssuedSerial);

        AssertVerified(result);
        Assert.Contains($"{NeverIssuedSerial}: unknown", result.StandardOutput);
    }

    [SkippableFact]
    public async Task OpensslOcsp_NoNonce_AnswersGood()
    {
        var openssl = await PrepareAsync("ocsp-no-nonce");

        var result = await AskAsync(openssl, "-cert", "ocsp-no-nonce.pem", "-no_nonce", "-resp_text");

        AssertVerified(result);
        Assert.Contains("ocsp-no-nonce.pem: good", result.StandardOutput);
        Assert.DoesNotContain("OCSP Nonce", result.StandardOutput);
    }

    [SkippableFact]
    public async Task OpensslOcsp_IssuingCaUnderRoot_AnswersGood()
    {
        var openssl = await PrepareAsync(name: null);

        var result = await openssl.RunAsync(
            "ocsp", "-issuer", "root.pem", "-cert", "ca.pem", "-url", $"{service.PublicBaseUrl}/ocsp", "-CAfile", "chain.pem", "-resp_text");

        AssertVerified(result);
        Assert.Contains("ca.pem: good", result.StandardOutput);
        AssertNonceEchoed(result);
    }

    /// <summary>Writes the CA files and, unless <paramref name="name"/> is null, issues a client certificate <c>&lt;name&gt;.pem</c>.</summary>
    private async Task<Openssl> PrepareAsync(string? name)
    {
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        await ServiceCertificates.WriteCaFilesAsync(service.Api, _work.Path);
        if (name is not null)
        {
            await ServiceCertificates.IssueClientAsync(service.Api, openssl, name);
        }
        return openssl;
    }

    private Task<CommandResult> AskAsync(Openssl openssl, params string[] subject) =>
        openssl.RunAsync(["ocsp", "-issuer", "ca.pem", .. subject, "-url", $"{service.PublicBaseUrl}/ocsp", "-CAfile", "chain.pem"]);

    internal static async Task<string> SerialOfAsync(Openssl openssl, string certificateFile)
    {
        var output = (await openssl.RunAsync("x509", "-in", certificateFile, "-noout", "-serial")).EnsureSuccess().StandardOutput;
        return output.Trim()["serial=".Length..];
    }

    private static void AssertVerified(CommandResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(result.StandardError.Contains("Response verify OK"), result.ToString());
        Assert.DoesNotContain("verify error", result.StandardError + result.StandardOutput, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>openssl sends a nonce by default and complains when the response does not carry it back (RFC 8954).</summary>
    private static void AssertNonceEchoed(CommandResult result)
    {
        Assert.False(result.StandardError.Contains("WARNING: no nonce in response"), result.ToString());
        Assert.False(result.StandardError.Contains("nonce", StringComparison.OrdinalIgnoreCase), result.ToString());
        Assert.True(result.StandardOutput.Contains("OCSP Nonce"), $"the response text shows no nonce:\n{result}");
    }
}
