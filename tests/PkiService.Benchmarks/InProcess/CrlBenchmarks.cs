using System.Numerics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using PkiService.Core.Primitives;
using PkiService.Core.Revocation;

namespace PkiService.Benchmarks.InProcess;

/// <summary>Building and signing a full CRL of N entries.</summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 3)]
public class CrlBenchmarks
{
    private BenchmarkCa _ca = null!;
    private RevokedCertificate[] _entries = null!;

    [Params(10_000, 100_000, 1_000_000)]
    public int Entries { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _ca = new BenchmarkCa();
        var now = DateTimeOffset.UtcNow;
        _entries = Enumerable.Range(0, Entries)
            .Select(i => new RevokedCertificate(SerialNumber.NewRandom(), now.AddMinutes(-i % 10_000), (RevocationReason)(i % 7)))
            .ToArray();
    }

    [GlobalCleanup]
    public void Cleanup() => _ca.Dispose();

    [Benchmark(Description = "full CRL build + sign")]
    public SignedCrl Build()
    {
        var now = DateTimeOffset.UtcNow;
        return new CrlBuilder(_ca.Hierarchy.Issuing).Build(BigInteger.One, now, now.AddDays(1), _entries);
    }
}
