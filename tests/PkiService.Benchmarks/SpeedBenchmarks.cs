using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using PkiService.Core.Authorities;
using PkiService.Core.Issuance;
using PkiService.Core.Primitives;
using PkiService.Core.Tests.TestSupport;

namespace PkiService.Benchmarks;

/// <summary>Raw speeds the load test compares the service with, measured in the same run.</summary>
public static class SpeedBenchmarks
{
    /// <summary>.NET ECDSA P-256 signatures per second over a 100-byte message, on 1 and on all cores.</summary>
    public static void SignSpeed(TimeSpan duration)
    {
        var message = RandomNumberGenerator.GetBytes(100);
        long Run(int threads)
        {
            long total = 0;
            var stop = Stopwatch.StartNew();
            Parallel.For(0, threads, _ =>
            {
                using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                long count = 0;
                while (stop.Elapsed < duration)
                {
                    key.SignData(message, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
                    count++;
                }
                Interlocked.Add(ref total, count);
            });
            return (long)(total / stop.Elapsed.TotalSeconds);
        }
        Console.WriteLine($"RESULT sign_p256_1t={Run(1)}");
        Console.WriteLine($"RESULT sign_p256_all={Run(Environment.ProcessorCount)}");
    }

    /// <summary>
    /// Certificates per second from a P-256 CSR in process (PEM decode, CSR parse and verify, TBS build, sign, DER encode):
    /// no HTTP, no database, one thread. <c>issue_inprocess_1t</c> is the path the service uses; <c>issue_baseline_1t</c>
    /// the same work as before issue 16 (CSR verified through .NET's key import, BouncyCastle's certificate generator),
    /// measured A B B A in this process so the ratio is of one run.
    /// </summary>
    public static void IssueSpeed(TimeSpan duration)
    {
        var directory = Path.Combine(Path.GetTempPath(), "pki-issue-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            using var hierarchy = CaHierarchy.LoadOrCreate(new FileCaKeyProvider(new FileCaKeyStore(directory), "bench", 1_000), new CaHierarchyOptions(), TimeProvider.System, NullLogger.Instance);
            var points = PublicationPoints.ForIssuingCa("http://127.0.0.1:5080");
            var authority = new IssuingAuthority(hierarchy.Issuing, points, TimeProvider.System);
            var csrs = Enumerable.Range(0, 64).Select(_ => Csr("bench")).ToArray();
            var grant = IssuanceGrant.ForService("bench", new NameAuthorization("bench", []), CertificateProfile.Client);

            long Rate(Func<string, IssuedCertificate> issue, TimeSpan length)
            {
                long count = 0;
                var stop = Stopwatch.StartNew();
                while (stop.Elapsed < length)
                {
                    issue(csrs[count % csrs.Length]);
                    count++;
                }
                return (long)(count / stop.Elapsed.TotalSeconds);
            }
            IssuedCertificate Current(string pem) =>
                authority.Issue(new IssuanceOrder(SerialNumber.NewRandom(), CertificationRequest.FromPem(pem), grant, null));
            IssuedCertificate Baseline(string pem) => BouncyCastleCertificateReference.Issue(hierarchy.Issuing, points,
                authority.Prepare(new IssuanceOrder(SerialNumber.NewRandom(), CertificationRequest.FromPem(pem, platformVerifier: true), grant, null)));

            // Warm both paths up (JIT, libcrypto), then A B B A with half the time each so drift cancels.
            Rate(Current, TimeSpan.FromMilliseconds(300));
            Rate(Baseline, TimeSpan.FromMilliseconds(300));
            var half = duration / 2;
            var current1 = Rate(Current, half);
            var baseline1 = Rate(Baseline, half);
            var baseline2 = Rate(Baseline, half);
            var current2 = Rate(Current, half);
            Console.WriteLine($"RESULT issue_inprocess_1t={(current1 + current2) / 2}");
            Console.WriteLine($"RESULT issue_baseline_1t={(baseline1 + baseline2) / 2}");
            Console.WriteLine($"RESULT issue_ratio={(double)(current1 + current2) / (baseline1 + baseline2):F2}");

            long parsed = 0;
            var parse = Stopwatch.StartNew();
            while (parse.Elapsed < half)
            {
                CertificationRequest.FromPem(csrs[parsed % csrs.Length]);
                parsed++;
            }
            Console.WriteLine($"RESULT csr_verify_1t={(long)(parsed / parse.Elapsed.TotalSeconds)}");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A P-256 CSR for <paramref name="commonName"/>, as a client makes it.</summary>
    public static string Csr(string commonName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
    }
}
