using System.Globalization;
using System.Numerics;
using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Revocation;

/// <summary>
/// RFC 5280 5.2.3: the CRL number strictly increases, across revocations and across a restart of the service on the
/// same data directory. Runs its own service process, whose CRL history only this class touches.
/// </summary>
[Collection(ServiceCollection.Name)] // not for the shared service: so that no other test runs while this one restarts its own
public sealed class CrlNumberTests : IAsyncLifetime
{
    private readonly ServiceProcess _service = new();
    private readonly TempDirectory _work = new();

    public Task InitializeAsync() => _service.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        _work.Dispose();
    }

    [SkippableFact]
    public async Task CrlNumber_RevocationsAndRestart_StrictlyIncreases()
    {
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        await ServiceCertificates.WriteCaFilesAsync(_service.Api, _work.Path);
        var first = await ServiceCertificates.IssueClientAsync(_service.Api, openssl, "number-1");
        var second = await ServiceCertificates.IssueClientAsync(_service.Api, openssl, "number-2");
        var third = await ServiceCertificates.IssueClientAsync(_service.Api, openssl, "number-3");
        var initial = await CrlNumberAsync(openssl, "initial.pem");

        await _service.Api.RevokeAsync(first.SerialNumber);
        var afterFirst = await CrlNumberAsync(openssl, "after-first.pem");
        await _service.Api.RevokeAsync(second.SerialNumber);
        var afterSecond = await CrlNumberAsync(openssl, "after-second.pem");

        await _service.RestartAsync();
        var afterRestart = await CrlNumberAsync(openssl, "after-restart.pem");
        await _service.Api.RevokeAsync(third.SerialNumber);
        var afterThird = await CrlNumberAsync(openssl, "after-third.pem");

        var sequence = $"initial {initial}, after 1st revoke {afterFirst}, after 2nd {afterSecond}, after restart {afterRestart}, after 3rd {afterThird}";
        Assert.True(afterFirst > initial && afterSecond > afterFirst, sequence);
        // A restart may serve the CRL it had or issue a new one, never an older or reused number.
        Assert.True(afterRestart >= afterSecond, sequence);
        Assert.True(afterThird > afterRestart, sequence);
        var text = (await openssl.RunAsync("crl", "-in", "after-third.pem", "-noout", "-text")).EnsureSuccess().StandardOutput;
        foreach (var serial in new[] { first.SerialNumber, second.SerialNumber, third.SerialNumber })
        {
            Assert.Contains($"Serial Number: {serial}", text);
        }
        var verify = await openssl.RunAsync("crl", "-in", "after-third.pem", "-CAfile", "chain.pem", "-noout");
        Assert.True(verify.ExitCode == 0 && verify.StandardError.Contains("verify OK"), verify.ToString());
    }

    /// <summary>Fetches /pki/crl.pem into <paramref name="file"/> and returns its CRL number as openssl reads it.</summary>
    private async Task<BigInteger> CrlNumberAsync(Openssl openssl, string file)
    {
        await File.WriteAllTextAsync(_work.File(file), await _service.Api.GetTextAsync("pki/crl.pem"));
        var output = (await openssl.RunAsync("crl", "-in", file, "-noout", "-crlnumber")).EnsureSuccess().StandardOutput.Trim();
        // "crlNumber=0x2A"
        Assert.StartsWith("crlNumber=0x", output);
        return BigInteger.Parse("0" + output["crlNumber=0x".Length..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }
}
