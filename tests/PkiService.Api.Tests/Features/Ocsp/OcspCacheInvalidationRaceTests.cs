using Microsoft.Extensions.Options;
using PkiService.Api.Features.Ocsp;
using PkiService.Core.Ocsp;
using PkiService.Core.Primitives;
using PkiService.Core.Revocation;
using Xunit.Abstractions;

namespace PkiService.Api.Tests.Features.Ocsp;

/// <summary>
/// A revocation must never leave a cached <c>good</c> behind, however requests interleave with the invalidation. Readers
/// here follow the answerer's own sequence (reply table, generation, status table or the database, keep both) against
/// the cache while the status flips to revoked and the cache is invalidated, over and over; after every invalidation
/// has returned and the readers have finished, neither table may still say good.
/// </summary>
/// <remarks>
/// Found as a stale <c>good</c> served for 10 s by a node that had been told of another node's revocation (issue #11):
/// a reader that read the generation after the invalidation bumped it, but found the status before it was removed,
/// kept a reply built from that stale status under the new generation.
/// </remarks>
public sealed class OcspCacheInvalidationRaceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Invalidate_WhileReadersAnswer_NeverLeavesGoodBehind()
    {
        var cache = new OcspResponseCache(Options.Create(new OcspOptions()));
        var issuer = new string('A', 64);
        var now = DateTimeOffset.UtcNow;
        var revoked = RevocationStatus.Revoked(now.AddMinutes(-1), RevocationReason.KeyCompromise);
        const int rounds = 3000;
        var staleRounds = 0;
        for (var round = 0; round < rounds; round++)
        {
            var serial = SerialNumber.FromUnsignedBytes(BitConverter.GetBytes(round + 1));
            var key = new OcspCacheKey(issuer, serial, OcspResponder.CacheKeyHashAlgorithms[0]);
            var revokedInDatabase = false; // what a read of the database says
            cache.AddStatus(issuer, serial, RevocationStatus.Good, cache.Generation);
            cache.Add(key, Reply(key, RevocationState.Good, now), cache.Generation);

            using var stop = new CancellationTokenSource();
            var readers = Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    if (cache.TryGet(key, now, out OcspResponseCache.Entry _))
                    {
                        continue;
                    }
                    var generation = cache.Generation;
                    if (!cache.TryGetStatus(issuer, serial, out var status))
                    {
                        status = Volatile.Read(ref revokedInDatabase) ? revoked : RevocationStatus.Good;
                        cache.AddStatus(issuer, serial, status, generation);
                    }
                    cache.Add(key, Reply(key, status.State, now), generation);
                }
            })).ToArray();
            Thread.SpinWait(Random.Shared.Next(50, 5000));
            Volatile.Write(ref revokedInDatabase, true); // the revocation commits...
            cache.Invalidate(issuer, serial); // ...and then the cache is told
            Thread.SpinWait(Random.Shared.Next(0, 2000));
            await stop.CancelAsync();
            await Task.WhenAll(readers);

            var replyStale = cache.TryGet(key, now, out var entry) && entry.Reply.CertificateStates![0] == RevocationState.Good;
            var statusStale = cache.TryGetStatus(issuer, serial, out var kept) && kept.State == RevocationState.Good;
            if (replyStale || statusStale)
            {
                staleRounds++;
            }
        }
        output.WriteLine($"{staleRounds} of {rounds} invalidations left a cached good behind");
        Assert.Equal(0, staleRounds);
    }

    private static OcspReply Reply(OcspCacheKey key, RevocationState state, DateTimeOffset now) =>
        new(OcspReplyStatus.Successful, [(byte)state, 1, 2, 3], now.AddMinutes(-1), now.AddHours(1), key, [state]);
}
