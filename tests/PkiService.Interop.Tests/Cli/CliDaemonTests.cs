using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Cli;

/// <summary>
/// <c>pki renew --daemon --exec</c> against the real service with 2-minute certificates (the client profile has no
/// lower bound on validity; with the 1-minute backdating a PT2M certificate lives 3 minutes, so two thirds of it fall
/// 1 minute after issuance and a renewal keeps that lifetime). While the daemon runs, a checker reads the files over
/// and over: every read must be a certificate and key that match, chain to the root and are within their validity.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class CliDaemonTests(ServiceProcess service) : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(5);

    private readonly TempDirectory _work = new("pki-cli-daemon-");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task RenewDaemon_TwoMinuteCertificates_RenewsTwiceRunsHookAndFilesAlwaysPair()
    {
        var cli = new PkiCli(_work);
        await cli.BootstrapAsync(service);
        var name = $"cli-daemon-{Guid.NewGuid():N}"[..24];
        var token = await service.Api.CreateEnrollmentTokenAsync(name, [$"{name}.example.org"]);
        var enrolled = (await cli.RunAsync("enroll", "--token", token, "--name", name, "--san", $"{name}.example.org",
            "--validity", "PT2M", "--cert", "leaf.pem", "--key", "leaf.key", "--json")).EnsureSuccess();
        // WIRE15.md: once the service sends renewAfter, the daemon must follow it (from its first renewal answer on).
        var serviceSendsRenewAfter = System.Text.Json.JsonDocument.Parse(enrolled.StandardOutput).RootElement
            .GetProperty("renewAfter").ValueKind == System.Text.Json.JsonValueKind.String;
        var firstSerial = Read().Certificate.SerialNumber;
        using var root = X509Certificate2.CreateFromPem(await service.Api.Http.GetStringAsync("pki/root.pem"));

        using var daemon = cli.Start("renew", "--daemon", "--cert", "leaf.pem", "--key", "leaf.key", "--exec", "echo renewed >> hook-count.txt");
        using var stop = new CancellationTokenSource();
        var checker = Task.Run(() => CheckPairs(root, stop.Token));

        var renewedTwice = await Wait.UntilAsync(() => HookRuns() >= 2 || daemon.HasExited, Bound);
        stop.Cancel();
        var (checks, serials, torn) = await checker;

        Assert.True(renewedTwice && !daemon.HasExited, $"{HookRuns()} hook runs within {Bound}.\n{daemon.Describe()}");
        Assert.True(serials.Count >= 3, $"the checker saw {string.Join(", ", serials)}");
        Assert.Contains(firstSerial, serials);
        Assert.True(checks > 100, $"only {checks} checks");
        Assert.True(torn <= serials.Count - 1, $"{torn} reads caught a swap between the two renames");
        Assert.Contains("Renewed:", daemon.Output);
        Assert.Contains("(2/3 of its lifetime)", daemon.Output); // the enrolled certificate: no answer seen yet
        if (serviceSendsRenewAfter)
        {
            Assert.Contains("(the service's renewAfter)", daemon.Output);
        }

        // SIGTERM: the daemon stops cleanly with exit 0.
        (await ExternalCommand.RunAsync("kill", ["-TERM", daemon.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])).EnsureSuccess();
        using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await daemon.WaitForExitAsync(exit.Token);
        Assert.True(daemon.ExitCode == 0, daemon.Describe());
        var (final, _) = Read();
        Assert.Equal("active", await service.Api.GetStatusAsync(final.SerialNumber));
        Assert.Equal("superseded", await service.Api.GetStatusAsync(firstSerial));
    }

    private int HookRuns()
    {
        var path = _work.File("hook-count.txt");
        return File.Exists(path) ? File.ReadAllLines(path).Count(l => l == "renewed") : 0;
    }

    /// <summary>
    /// Reads the pair every 20 ms until stopped, and once more after. Each file is replaced whole by rename(2) (never half-written), the key
    /// and right after it the certificate; a read that lands between those two renames sees the new key with the old
    /// certificate: it is counted (at most once per swap) and the re-read 5 ms later must match. A persistent mismatch,
    /// an unparsable file or a certificate that does not verify fails the test.
    /// </summary>
    private (int Checks, HashSet<string> Serials, int Torn) CheckPairs(X509Certificate2 root, CancellationToken stop)
    {
        var checks = 0;
        var torn = 0;
        var serials = new HashSet<string>();
        while (true)
        {
            // One last check after the stop: the pair the daemon swapped in just before its hook ran, which the
            // test waited for, is then always among the serials (a check can take longer than that wait under load).
            var last = stop.IsCancellationRequested;
            var (certificate, keyPem) = Read();
            if (!Matches(certificate, keyPem))
            {
                // Between the two renames: the re-read a moment later must be the new pair.
                torn++;
                Thread.Sleep(5);
                (certificate, keyPem) = Read();
                Assert.True(Matches(certificate, keyPem), $"certificate {certificate.SerialNumber} and the key on disk still do not match after a re-read");
            }
            var now = DateTime.UtcNow;
            Assert.True(certificate.NotBefore.ToUniversalTime() <= now && now < certificate.NotAfter.ToUniversalTime(),
                $"{certificate.SerialNumber} is not valid now ({certificate.NotBefore:u} to {certificate.NotAfter:u})");
            using (var chain = new X509Chain())
            {
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(root);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                chain.ChainPolicy.DisableCertificateDownloads = true; // the file carries the issuing CA
                var file = new X509Certificate2Collection();
                file.ImportFromPem(File.ReadAllText(_work.File("leaf.pem")));
                chain.ChainPolicy.ExtraStore.AddRange(file);
                Assert.True(chain.Build(certificate), $"{certificate.SerialNumber} does not chain to the root");
            }
            serials.Add(certificate.SerialNumber);
            checks++;
            if (last)
            {
                break;
            }
            Thread.Sleep(20);
        }
        return (checks, serials, torn);
    }

    private (X509Certificate2 Certificate, string KeyPem) Read() =>
        (X509Certificate2.CreateFromPem(File.ReadAllText(_work.File("leaf.pem"))), File.ReadAllText(_work.File("leaf.key")));

    private static bool Matches(X509Certificate2 certificate, string keyPem)
    {
        using var key = ECDsa.Create();
        key.ImportFromPem(keyPem);
        return certificate.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo());
    }
}
