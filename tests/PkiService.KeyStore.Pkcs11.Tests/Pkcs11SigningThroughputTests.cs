using System.Diagnostics;
using System.Security.Cryptography;
using PkiService.Core.Authorities;
using PkiService.Tests.Shared;
using Xunit.Abstractions;

namespace PkiService.KeyStore.Pkcs11.Tests;

/// <summary>
/// What keeping a key in the token costs: P-256 signatures per second in SoftHSM2 with one session and with eight,
/// next to a software key. Reported as a FIGURE line (never asserted on: the machine is shared).
/// </summary>
[Collection(SoftHsmCollection.Name)]
public sealed class Pkcs11SigningThroughputTests(SoftHsm hsm, ITestOutputHelper output)
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(2);

    [SkippableFact]
    public void SignHash_P256_TokenWithOneAndEightSessionsVersusSoftware_ReportsSignaturesPerSecond()
    {
        var label = hsm.CreateToken();
        double oneSession, eightSessions;
        using (var provider = new Pkcs11CaKeyProvider(SoftHsm.Options(label, sessionPoolSize: 1)))
        {
            using var key = (ECDsa)provider.CreateKey("ocsp-responder", CaKeyAlgorithm.EcdsaP256);
            oneSession = Measure(key, threads: 1);
        }
        using (var provider = new Pkcs11CaKeyProvider(SoftHsm.Options(label, sessionPoolSize: 8)))
        {
            using var key = (ECDsa)provider.CreateKey("ocsp-responder", CaKeyAlgorithm.EcdsaP256);
            eightSessions = Measure(key, threads: 8);
        }
        using var software = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var softwareRate = Measure(software, threads: 1);

        var figure = $"FIGURE pkcs11-signing: softhsm2-p256-1-session={oneSession:F0}/s softhsm2-p256-8-sessions={eightSessions:F0}/s " +
            $"software-p256-1-thread={softwareRate:F0}/s cores={Environment.ProcessorCount}";
        output.WriteLine(figure);
        Console.WriteLine(figure);
        Assert.All(new[] { oneSession, eightSessions, softwareRate }, rate => Assert.True(rate > 0));
    }

    /// <summary>Signatures per second over <see cref="Window"/> on <paramref name="threads"/> threads; every tenth is verified.</summary>
    private static double Measure(ECDsa key, int threads)
    {
        var hash = SHA256.HashData("throughput"u8);
        var factory = new DotNetSignatureFactory(key);
        factory.Sign("warm-up"u8); // first use: sessions opened, key handle found
        var count = 0;
        var stopwatch = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            for (var n = 0; stopwatch.Elapsed < Window; n++)
            {
                var signature = key.SignHash(hash);
                if (n % 10 == 0 && !key.VerifyHash(hash, signature))
                {
                    throw new CryptographicException("a signature did not verify");
                }
                Interlocked.Increment(ref count);
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        return count / stopwatch.Elapsed.TotalSeconds;
    }
}
