using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Revocation;

/// <summary>
/// GnuTLS <c>ocsptool --ask</c> takes the responder URL from the certificate's AIA extension (no URL is given) and
/// verifies the response: against the issuer by default (the delegated responder certificate must chain to it), or
/// against explicit trust anchors with <c>--load-trust</c>.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class GnutlsOcspTests(ServiceProcess service) : IDisposable
{
    private readonly TempDirectory _work = new();

    public void Dispose() => _work.Dispose();

    [SkippableFact]
    public async Task Ocsptool_AskViaAiaUrl_GoodThenRevokedAfterRevoke()
    {
        var ocsptool = RequiredTool.Ocsptool();
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        await ServiceCertificates.WriteCaFilesAsync(service.Api, _work.Path);
        var issued = await ServiceCertificates.IssueClientAsync(service.Api, openssl, "gnutls-client");

        var before = await AskAsync(ocsptool, "--load-cert", "gnutls-client.pem", "--load-issuer", "ca.pem");
        AssertAnswer(before, "good");

        await service.Api.RevokeAsync(issued.SerialNumber, "keyCompromise");
        var after = await AskAsync(ocsptool, "--load-cert", "gnutls-client.pem", "--load-issuer", "ca.pem");

        AssertAnswer(after, "revoked");
        Assert.Contains("Revocation time:", after.StandardOutput);
        // ocsptool connects to the host:port of the AIA OCSP URL in the certificate.
        Assert.Contains($"Connecting to '{service.BaseAddress.Host}:{service.BaseAddress.Port}'", after.StandardOutput + after.StandardError);
    }

    [SkippableFact]
    public async Task Ocsptool_AskWithNonceAndTrustAnchors_EchoesNonceAndVerifies()
    {
        var ocsptool = RequiredTool.Ocsptool();
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        await ServiceCertificates.WriteCaFilesAsync(service.Api, _work.Path);
        await ServiceCertificates.IssueClientAsync(service.Api, openssl, "gnutls-nonce");

        // The responder certificate is issued by the issuing CA, which GnuTLS must then hold as a trust anchor.
        var result = await AskAsync(ocsptool,
            "--load-cert", "gnutls-nonce.pem", "--load-issuer", "ca.pem", "--load-trust", "chain.pem", "--nonce");

        AssertAnswer(result, "good");
        Assert.Contains("Nonce:", result.StandardOutput);
    }

    private Task<CommandResult> AskAsync(string ocsptool, params string[] arguments) =>
        ExternalCommand.RunAsync(ocsptool, ["--ask", .. arguments], _work.Path, TimeSpan.FromSeconds(30));

    private static void AssertAnswer(CommandResult result, string status)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(result.StandardOutput.Contains("Response Status: Successful"), result.ToString());
        Assert.True(result.StandardOutput.Contains($"Certificate Status: {status}"), result.ToString());
        Assert.True(result.StandardOutput.Contains("Verifying OCSP Response: Success."), result.ToString());
    }
}
