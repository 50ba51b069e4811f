using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using PkiService.Api.Features.RevocationStream;
using PkiService.Api.Tests.Support;
using PkiService.Core.Authorities;
using Xunit.Abstractions;

namespace PkiService.Api.Tests.Features.RevocationStream;

/// <summary>
/// The revocation stream's tests run alone, after the parallel ones: they time deliveries, and some load the machine
/// (hundreds of streams, a burst of thousands of revocations), so they neither slow the timing-sensitive tests of other
/// hosts (the CRL fail-over tests missed their windows in full runs while these ran beside them) nor are slowed by them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RevocationStreamLoadCollection
{
    public const string Name = "Revocation stream, without other hosts running";
}

/// <summary>Many streams at once, and more revocations at once than the feed keeps.</summary>
[Collection(RevocationStreamLoadCollection.Name)]
public sealed class RevocationStreamLoadTests(ITestOutputHelper output)
{
    /// <summary>One database read per change serves every stream: many open streams all get the event, quickly.</summary>
    [Fact]
    public async Task Revoke_With200StreamsOpen_EveryStreamGetsTheEvent()
    {
        const int streams = 200;
        using var factory = new PkiApiFactory();
        using var admin = factory.CreateAdminClient();
        using var client = factory.CreateClient();
        var serial = await RevocationStreamTests.EnrollAsync(factory, "fan-out");
        var readers = new List<EventStreamReader>();
        try
        {
            for (var i = 0; i < streams; i++)
            {
                var reader = await EventStreamReader.OpenAsync(client);
                await reader.ReadThroughReadyAsync();
                readers.Add(reader);
            }
            Assert.Equal(streams, factory.Services.GetRequiredService<RevocationStreamClients>().Connected);

            var clock = Stopwatch.StartNew();
            var arrivals = readers.Select(async reader =>
            {
                var received = await reader.NextAsync(TimeSpan.FromSeconds(10));
                return (Serial: received?.SerialNumber, Elapsed: clock.Elapsed.TotalMilliseconds);
            }).ToList();
            await RevocationStreamTests.RevokeAsync(admin, serial);
            var revoked = clock.Elapsed.TotalMilliseconds;
            var results = await Task.WhenAll(arrivals);

            Assert.All(results, r => Assert.Equal(serial, r.Serial));
            var sorted = results.Select(r => r.Elapsed).Order().ToList();
            output.WriteLine($"revoke sent -> event on each of {streams} open streams: first {sorted[0]:0.0} ms, p50 {sorted[(sorted.Count - 1) / 2]:0.0} ms, last {sorted[^1]:0.0} ms (the revoke call answered after {revoked:0.0} ms)");
            Assert.True(sorted[^1] < 1000, $"the last stream got it after {sorted[^1]:0} ms");
        }
        finally
        {
            foreach (var reader in readers)
            {
                await reader.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// More revocations at once than the feed keeps (<see cref="RevocationFeed.Capacity"/>): a stream that has not sent
    /// them is ended rather than allowed to skip any, and the resume from its last id replays them from the database.
    /// </summary>
    [Fact]
    public async Task Burst_LargerThanFeedCapacity_EndsStreamAndResumeReplaysEveryRevocation()
    {
        var burst = RevocationFeed.Capacity + 100;
        using var factory = new PkiApiFactory();
        using var client = factory.CreateClient();
        await using var stream = await EventStreamReader.OpenAsync(client);
        var ready = (await stream.ReadThroughReadyAsync())[^1];
        var revokedAt = DateTime.UtcNow;
        var issuer = factory.Services.GetRequiredService<CaHierarchy>().Issuing.Fingerprint;
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            // Written straight into the database (a bulk revocation, as a data migration might do), then announced once.
            var db = scope.ServiceProvider.GetRequiredService<PkiService.Persistence.PkiDbContext>();
            for (var i = 0; i < burst; i++)
            {
                db.Certificates.Add(new PkiService.Persistence.Entities.CertificateRecord
                {
                    SerialNumber = PkiService.Core.Primitives.SerialNumber.NewRandom().Hex,
                    IssuerFingerprint = issuer,
                    Subject = $"CN=burst-{i}",
                    CommonName = $"burst-{i}",
                    Profile = "client",
                    NotBefore = revokedAt.AddDays(-1),
                    NotAfter = revokedAt.AddDays(30),
                    IssuedAt = revokedAt.AddDays(-1),
                    Status = PkiService.Persistence.Entities.CertificateStatus.Revoked,
                    RevokedAt = revokedAt,
                    RevocationReason = "keyCompromise",
                    Der = [0x30, 0x00],
                });
            }
            await db.SaveChangesAsync();
        }
        factory.Services.GetRequiredService<PkiService.Api.Revocation.ICertificateStatusChanges>().Drop(PkiService.Api.Revocation.CertificateStatusChange.All);

        var sent = 0;
        while (await stream.NextAsync(TimeSpan.FromSeconds(20)) is not null)
        {
            sent++;
        }
        await using var resumed = await EventStreamReader.OpenAsync(client, ready.Id);
        var replayed = (await resumed.ReadThroughReadyAsync()).Count(e => e.Type == "revoked");

        output.WriteLine($"{burst} revocations at once: the stream sent {sent} events and ended; the resume from id {ready.Id} replayed {replayed}");
        Assert.Equal(0, sent);
        Assert.Equal(burst, replayed);
    }
}
