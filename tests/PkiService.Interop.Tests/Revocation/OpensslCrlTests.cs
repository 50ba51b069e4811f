using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Revocation;

/// <summary>openssl verifies the published CRLs' signatures and uses them to reject a revoked certificate.</summary>
[Collection(ServiceCollection.Name)]
public sealed class OpensslCrlTests(ServiceProcess service) : IDisposable
{
    private readonly TempDirectory _work = new();

    public void Dispose() => _work.Dispose();

    [SkippableFact]
    public async Task OpensslCrl_IssuingCaAndRootCrls_VerifyAgainstTheirIssuers()
    {
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        await ServiceCertificates.WriteCaFilesAsync(service.Api, _work.Path);
        await File.WriteAllBytesAsync(_work.File("crl.der"), await service.Api.GetBytesAsync("pki/crl"));
        await File.WriteAllBytesAsync(_work.File("root.crl"), await service.Api.GetBytesAsync("pki/root.crl"));

        var issuing = await openssl.RunAsync("crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "chain.pem", "-noout", "-issuer");
        var root = await openssl.RunAsync("crl", "-inform", "DER", "-in", "root.crl", "-CAfile", "root.pem", "-noout", "-issuer");

        Assert.True(issuing.ExitCode == 0 && issuing.StandardError.Contains("verify OK"), issuing.ToString());
        Assert.True(root.ExitCode == 0 && root.StandardError.Contains("verify OK"), root.ToString());
        var caSubject = (await openssl.RunAsync("x509", "-in", "ca.pem", "-noout", "-subject")).EnsureSuccess().StandardOutput.Trim()["subject=".Length..];
        var rootSubject = (await openssl.RunAsync("x509", "-in", "root.pem", "-noout", "-subject")).EnsureSuccess().StandardOutput.Trim()["subject=".Length..];
        Assert.Equal(caSubject, issuing.StandardOutput.Trim()["issuer=".Length..]);
        Assert.Equal(rootSubject, root.StandardOutput.Trim()["issuer=".Length..]);
    }

    [SkippableFact]
    public async Task OpensslVerifyCrlCheck_RevokedCertificate_RejectedAndOtherAccepted()
    {
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        await ServiceCertificates.WriteCaFilesAsync(service.Api, _work.Path);
        var revoked = await ServiceCertificates.IssueClientAsync(service.Api, openssl, "crl-revoked");
        await ServiceCertificates.IssueClientAsync(service.Api, openssl, "crl-active");

        await service.Api.RevokeAsync(revoked.SerialNumber, "keyCompromise");
        await File.WriteAllTextAsync(_work.File("crl.pem"), await service.Api.GetTextAsync("pki/crl.pem"));

        var rejected = await VerifyAsync(openssl, "-crl_check", "crl.pem", "crl-revoked.pem");
        var accepted = await VerifyAsync(openssl, "-crl_check", "crl.pem", "crl-active.pem");

        Assert.True(rejected.ExitCode != 0 && rejected.StandardError.Contains("certificate revoked"), rejected.ToString());
        Assert.True(accepted.ExitCode == 0 && accepted.StandardOutput.Contains("crl-active.pem: OK"), accepted.ToString());
        var text = (await openssl.RunAsync("crl", "-in", "crl.pem", "-noout", "-text")).EnsureSuccess().StandardOutput;
        Assert.Contains($"Serial Number: {revoked.SerialNumber}", text);
        Assert.Contains("Key Compromise", text);
    }

    [SkippableFact]
    public async Task OpensslVerifyCrlCheckAll_Bundle_CoversWholeChain()
    {
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        await ServiceCertificates.WriteCaFilesAsync(service.Api, _work.Path);
        var revoked = await ServiceCertificates.IssueClientAsync(service.Api, openssl, "bundle-revoked");
        await ServiceCertificates.IssueClientAsync(service.Api, openssl, "bundle-active");

        await service.Api.RevokeAsync(revoked.SerialNumber, "cessationOfOperation");
        await File.WriteAllTextAsync(_work.File("crl-bundle.pem"), await service.Api.GetTextAsync("pki/crl-bundle.pem"));
        await File.WriteAllTextAsync(_work.File("crl.pem"), await service.Api.GetTextAsync("pki/crl.pem"));

        var accepted = await VerifyAsync(openssl, "-crl_check_all", "crl-bundle.pem", "bundle-active.pem");
        var rejected = await VerifyAsync(openssl, "-crl_check_all", "crl-bundle.pem", "bundle-revoked.pem");
        // The issuing CA's CRL alone does not cover the issuing CA itself: that is what the root's CRL in the bundle is for.
        var withoutRootCrl = await VerifyAsync(openssl, "-crl_check_all", "crl.pem", "bundle-active.pem");

        Assert.True(accepted.ExitCode == 0 && accepted.StandardOutput.Contains("bundle-active.pem: OK"), accepted.ToString());
        Assert.True(rejected.ExitCode != 0 && rejected.StandardError.Contains("certificate revoked"), rejected.ToString());
        Assert.True(withoutRootCrl.ExitCode != 0 && withoutRootCrl.StandardError.Contains("unable to get certificate CRL"), withoutRootCrl.ToString());
    }

    private static Task<CommandResult> VerifyAsync(Openssl openssl, string crlCheck, string crlFile, string certificateFile) =>
        openssl.RunAsync("verify", crlCheck, "-CRLfile", crlFile, "-CAfile", "root.pem", "-untrusted", "ca.pem", certificateFile);
}
