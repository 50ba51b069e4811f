using Microsoft.Extensions.Options;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Oiw;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Ocsp;
using PkiService.Api.Features.Ocsp;
using PkiService.Benchmarks.InProcess;
using PkiService.Core.Ocsp;
using PkiService.Core.Primitives;
using PkiService.Core.Revocation;

namespace PkiService.Benchmarks;

/// <summary>
/// Checks the OCSP cache's per-row byte estimates against the managed memory its rows really keep: fills each table
/// with N rows (distinct certificates, all good) and compares the heap growth after a full collection with what the
/// cache counts. The bound (Ocsp:CacheMaxBytes) is only as good as these estimates.
/// </summary>
public static class OcspCacheMemoryBenchmark
{
    public static async Task RunAsync(int rows)
    {
        using var ca = new BenchmarkCa();
        using var responderCertificate = OcspResponderCertificate.Create(ca.Hierarchy.Issuing, TimeSpan.FromDays(30), TimeProvider.System);
        var responder = new OcspResponder([new OcspResponderEntry(ca.Hierarchy.Issuing, responderCertificate)], new AlwaysGood(), TimeProvider.System);
        var cache = new OcspResponseCache(Options.Create(new OcspOptions { CacheMaxBytes = 64L * 1024 * 1024 * 1024 }));
        var requests = Enumerable.Range(0, rows).Select(_ => Request(ca, SerialNumber.NewRandom())).ToArray();

        var replies = await MeasureAsync("replies", cache, rows, async () =>
        {
            foreach (var der in requests)
            {
                var parsed = responder.Parse(der);
                cache.Add(parsed.CacheKey!.Value, await responder.RespondAsync(parsed), cache.Generation);
            }
        });
        var keys = await MeasureAsync("requests", cache, rows, () =>
        {
            foreach (var der in requests)
            {
                cache.RememberRequest(der, responder.Parse(der).CacheKey!.Value);
            }
            return Task.CompletedTask;
        });
        var statuses = await MeasureAsync("statuses", cache, rows, () =>
        {
            foreach (var der in requests)
            {
                var key = responder.Parse(der).CacheKey!.Value;
                cache.AddStatus(key.IssuerFingerprint, key.SerialNumber, RevocationStatus.Good, cache.Generation);
            }
            return Task.CompletedTask;
        });
        GC.KeepAlive(cache);
        Console.WriteLine($"RESULT ocsp_cache_estimate_covers_heap={(replies && keys && statuses ? 1 : 0)}");
    }

    private static async Task<bool> MeasureAsync(string table, OcspResponseCache cache, int rows, Func<Task> fill)
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var counted = cache.Usage().Single(t => t.Table == table).Bytes;
        await fill();
        var after = GC.GetTotalMemory(forceFullCollection: true);
        var usage = cache.Usage().Single(t => t.Table == table);
        var heapPerRow = (after - before) / (double)rows;
        var countedPerRow = (usage.Bytes - counted) / (double)rows;
        Console.WriteLine($"{table}: {usage.Count:N0} rows, heap {heapPerRow:F0} bytes per row, counted {countedPerRow:F0} ({countedPerRow / heapPerRow:F2}x)");
        Console.WriteLine($"RESULT ocsp_cache_{table}_heap_per_row={heapPerRow:F0}");
        Console.WriteLine($"RESULT ocsp_cache_{table}_counted_per_row={countedPerRow:F0}");
        return countedPerRow >= heapPerRow;
    }

    private static byte[] Request(BenchmarkCa ca, SerialNumber serial)
    {
        var generator = new OcspReqGenerator();
        generator.AddRequest(new CertificateID(new AlgorithmIdentifier(OiwObjectIdentifiers.IdSha1, DerNull.Instance), ca.Hierarchy.Issuing.Certificate, serial.ToBouncyCastle()));
        return generator.Generate().GetEncoded();
    }

    private sealed class AlwaysGood : ICertificateStatusSource
    {
        public ValueTask<RevocationStatus> GetStatusAsync(string issuerFingerprint, SerialNumber serialNumber, CancellationToken cancellationToken) =>
            ValueTask.FromResult(RevocationStatus.Good);
    }
}
