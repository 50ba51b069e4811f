using System.Diagnostics;
using PkiService.Interop.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PkiService.Interop.Tests.Revocation;

/// <summary>
/// Measures (does not assert on speed) the time from the revoke call returning to <c>openssl ocsp</c> answering
/// revoked, and to GET /pki/crl listing the serial, each polled on its own from the same moment.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class RevocationLatencyTests(ServiceProcess service, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);

    private readonly TempDirectory _work = new();

    public void Dispose() => _work.Dispose();

    [SkippableFact]
    public async Task Revoke_MeasuredUntilOcspAndCrlSayRevoked()
    {
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        await ServiceCertificates.WriteCaFilesAsync(service.Api, _work.Path);
        var issued = await ServiceCertificates.IssueClientAsync(service.Api, openssl, "latency");

        await service.Api.RevokeAsync(issued.SerialNumber, "keyCompromise");
        var sinceRevoke = Stopwatch.StartNew();
        var ocsp = PollAsync(sinceRevoke, async attempt =>
        {
            var result = await openssl.RunAsync(
                "ocsp", "-issuer", "ca.pem", "-cert", "latency.pem", "-url", $"{service.PublicBaseUrl}/ocsp", "-CAfile", "chain.pem");
            return result.ExitCode == 0 && result.StandardError.Contains("Response verify OK") && result.StandardOutput.Contains("latency.pem: revoked");
        });
        var crl = PollAsync(sinceRevoke, async attempt =>
        {
            var file = $"latency-crl-{attempt}.der";
            await File.WriteAllBytesAsync(_work.File(file), await service.Api.GetBytesAsync("pki/crl"));
            var result = await openssl.RunAsync("crl", "-inform", "DER", "-in", file, "-CAfile", "chain.pem", "-noout", "-text");
            return result.ExitCode == 0 && result.StandardError.Contains("verify OK") && result.StandardOutput.Contains($"Serial Number: {issued.SerialNumber}");
        });
        var (ocspElapsed, ocspAttempts) = await ocsp;
        var (crlElapsed, crlAttempts) = await crl;

        Timing.Report(output, "revoke->openssl-ocsp-revoked", ocspElapsed, $"{ocspAttempts} request(s), each including an openssl process start");
        Timing.Report(output, "revoke->crl-lists-serial", crlElapsed, $"{crlAttempts} fetch(es), each including an openssl crl parse");
        Assert.True(ocspAttempts > 0, $"openssl ocsp did not answer revoked within {Bound}.");
        Assert.True(crlAttempts > 0, $"GET /pki/crl did not list {issued.SerialNumber} within {Bound}.");
    }

    /// <summary>Runs <paramref name="check"/> until it holds; returns the time on <paramref name="clock"/> then and the attempt count, or 0 attempts if it never held within <see cref="Bound"/>.</summary>
    private static async Task<(TimeSpan Elapsed, int Attempts)> PollAsync(Stopwatch clock, Func<int, Task<bool>> check)
    {
        for (var attempt = 1; clock.Elapsed < Bound; attempt++)
        {
            if (await check(attempt))
            {
                return (clock.Elapsed, attempt);
            }
            await Task.Delay(20);
        }
        return (clock.Elapsed, 0);
    }
}
