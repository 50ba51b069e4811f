using System.Diagnostics;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;
using PkiService.Api.Features.Crl;
using PkiService.Api.Revocation;
using PkiService.Api.Tests.Support;
using PkiService.Core.Authorities;
using PkiService.Core.Primitives;
using Xunit.Abstractions;

namespace PkiService.Api.Tests.Features.Crl;

/// <summary>
/// The cluster tests measure fail-over and propagation times against the lease duration and the 1 s budget: they run
/// alone, after the parallel tests, so that dozens of other hosts starting on the same two cores do not starve the
/// lease renewals they time.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CrlClusterCollection
{
    public const string Name = "CRL cluster timing, without other hosts running";
}

/// <summary>
/// Several service hosts on ONE PostgreSQL database, as nodes of a cluster (issue 11): one CRL builder at a time
/// (the <c>crl-builder</c> lease), fail-over, and every node serving the same CRL bytes. The hosts share one data
/// directory for the CA keys until those move into the database.
/// </summary>
[Collection(CrlClusterCollection.Name)]
public sealed class CrlClusterTests(ITestOutputHelper output)
{
    /// <summary>The lease of the fail-over tests, short so that they wait little for an expiry.</summary>
    private const string LeaseDuration = "PT3S";

    /// <summary>The default lease (a starved test host must not lose it while a test looks) and a quick poll.</summary>
    internal static readonly Dictionary<string, string?> Settings = new()
    {
        ["Crl:ClusterPollInterval"] = "PT0.2S",
    };

    private static readonly Dictionary<string, string?> FailoverSettings = new()
    {
        ["Crl:LeaseDuration"] = LeaseDuration,
        ["Crl:ClusterPollInterval"] = "PT0.2S",
    };

    private static readonly string[] CrlPaths = ["/pki/crl", "/pki/delta.crl", "/pki/root.crl", "/pki/crl-bundle.pem"];

    [SkippableFact]
    public async Task Crl_ThreeHostsOnOneDatabase_OneHolderAndSameBytesAndETagOnEveryHost()
    {
        using var cluster = await Cluster.StartAsync(3);

        // Settled again, not read once: when the database stalls longer than the holder's renewals allow, the lease
        // lapses and is taken again (one CI run, at 40% iowait, found no holder right after the cluster had settled).
        // That is the lease at work; what must hold is never two holders (asserted while settling) and one again soon.
        var holder = await cluster.SettleAsync();
        Assert.Equal(Lease(holder).Holder, await ScalarAsync<string>(holder, "SELECT \"Holder\" FROM \"Leases\" WHERE \"Name\" = 'crl-builder'"));
        await AssertSameCrlsEverywhereAsync(cluster.Hosts);
        Assert.Equal(await CrlNumberAsync(holder), await ScalarAsync<long>(holder,
            "SELECT \"Number\" FROM \"PublishedCrls\" WHERE \"Kind\" = 'Complete' AND \"IssuerFingerprint\" = @ca", Issuing(holder)));
        foreach (var host in cluster.Hosts)
        {
            using var admin = host.CreateAdminClient();
            // Followers are ready: the CRLs they loaded are current (CrlFreshnessHealthCheck).
            Assert.Equal(System.Net.HttpStatusCode.OK, (await admin.GetAsync("/health/ready")).StatusCode);
        }
    }

    /// <summary>
    /// A revocation on a node that does not build: its revoke call waits until it serves a CRL the holder built after
    /// the revocation, and every node lists the serial in both CRLs within 1 s. The holder hears of it through
    /// <see cref="ICertificateStatusChanges"/>, which the LISTEN/NOTIFY follower calls on every node (cluster-notify);
    /// here the test calls the holder's seam once the revocation is committed, as that follower would.
    /// </summary>
    [SkippableFact]
    public async Task Revoke_OnFollower_ListedInCompleteAndDeltaCrlOnEveryHostWithinOneSecond()
    {
        using var cluster = await Cluster.StartAsync(3);
        var holder = await cluster.SettleAsync();
        var follower = cluster.Hosts.First(h => h != holder);
        var token = await follower.CreateTokenAsync("cluster-revoked");
        var enrolled = (await (await follower.EnrollAsync(token, Csrs.P256("cluster-revoked"))).Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        var serial = SerialNumber.Parse(enrolled.SerialNumber);
        using var admin = follower.CreateAdminClient();

        var revoke = admin.PostAsJsonAsync($"/api/v1/certificates/{enrolled.SerialNumber}/revoke", new { reason = "keyCompromise" });
        await WaitUntilAsync(async () => await ScalarAsync<long>(holder,
            "SELECT count(*) FROM \"Certificates\" WHERE \"SerialNumber\" = @ca AND \"RevokedAt\" IS NOT NULL", serial.Hex) == 1, TimeSpan.FromSeconds(10));
        var announced = Stopwatch.StartNew();
        await holder.Services.GetRequiredService<ICertificateStatusChanges>().StatusChangedAsync(Issuing(holder), serial, CancellationToken.None);
        var built = announced.ElapsedMilliseconds;
        (await revoke).EnsureSuccessStatusCode();
        var revoked = announced.ElapsedMilliseconds;

        // The follower's revoke call returned once the follower served CRLs listing it, not when its bounded wait
        // (CrlPublisher.FollowerWait, 2 s) gave up; the holder reserves its numbers between the commit and the
        // follower's reading of the last reserved number about half the time here, so this also checks that case.
        // Timing is measured in the load test; here only that the call did not end by giving up (FollowerWait).
        Assert.True(revoked < CrlPublisher.FollowerWait.TotalMilliseconds, $"the follower's revoke call returned {revoked} ms after the holder was told");
        Assert.True(await ListsAsync(follower, "/pki/crl", serial) && await ListsAsync(follower, "/pki/delta.crl", serial));
        await WaitUntilAsync(async () =>
        {
            foreach (var host in cluster.Hosts)
            {
                if (!await ListsAsync(host, "/pki/crl", serial) || !await ListsAsync(host, "/pki/delta.crl", serial))
                {
                    return false;
                }
            }
            return true;
        }, TimeSpan.FromSeconds(5)); // the contract's 1 s is measured (printed below, and in the load test), not asserted on a loaded machine
        output.WriteLine($"holder told -> holder published: {built} ms, follower's revoke call returned: {revoked} ms, serial in both CRLs on all 3 hosts: {announced.ElapsedMilliseconds} ms");
        await AssertSameCrlsEverywhereAsync(cluster.Hosts);
    }

    /// <summary>
    /// A revocation on a node that does not build while the lease is vacant (the holder stopped renewing and its lease
    /// expired, and no node's cluster job has taken it yet): a node that hears of the revocation (the revoking node, or
    /// the old holder through pki_status) takes the lease and builds rather than waiting for a holder that is gone, so the
    /// revoke call still returns with the serial in both CRLs.
    /// </summary>
    [SkippableFact]
    public async Task Revoke_OnFollowerWhileLeaseVacant_FollowerTakesLeaseAndListsSerial()
    {
        using var cluster = await Cluster.StartAsync(2, FailoverSettings);
        var holder = await cluster.SettleAsync();
        var follower = cluster.Hosts.Single(h => h != holder);
        var token = await follower.CreateTokenAsync("vacant-lease");
        var enrolled = (await (await follower.EnrollAsync(token, Csrs.P256("vacant-lease"))).Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        foreach (var host in cluster.Hosts)
        {
            await host.Services.GetServices<IHostedService>().OfType<CrlClusterJob>().Single().StopAsync(CancellationToken.None);
        }
        await WaitUntilAsync(async () => !Lease(holder).IsHeld && (await Lease(follower).ReadAsync(CancellationToken.None)).Remaining <= TimeSpan.Zero,
            TimeSpan.FromSeconds(5));

        using var admin = follower.CreateAdminClient();
        (await admin.PostAsJsonAsync($"/api/v1/certificates/{enrolled.SerialNumber}/revoke", new { reason = "superseded" })).EnsureSuccessStatusCode();

        // The revoking node, or the old holder (it hears the revocation on pki_status and finds the lease vacant too),
        // took the lease: exactly one builds, and the revoke call returned with the serial listed.
        Assert.Single(cluster.Hosts, h => Lease(h).IsHeld);
        var serial = SerialNumber.Parse(enrolled.SerialNumber);
        Assert.True(await ListsAsync(follower, "/pki/crl", serial) && await ListsAsync(follower, "/pki/delta.crl", serial));
    }

    /// <summary>
    /// The holder stops (cleanly: it releases the lease; a killed process leaves it to expire, see the next test):
    /// another host takes the lease and publishes a higher CRL number, and a host started afterwards continues the
    /// sequence: CRL numbers strictly increase across hosts and restarts.
    /// </summary>
    [SkippableFact]
    public async Task Failover_HolderHostDisposed_AnotherHostPublishesHigherCrlNumberWithinLeaseDuration()
    {
        using var cluster = await Cluster.StartAsync(3, FailoverSettings);
        var holder = await cluster.SettleAsync();
        var numbers = new List<long> { await CrlNumberAsync(holder) };
        await RevokeOneAsync(holder, "before-failover");
        numbers.Add(await CrlNumberAsync(holder));

        var stopped = Stopwatch.StartNew();
        cluster.Dispose(holder);
        var successor = await WaitForNewHolderAsync(cluster.Hosts, numbers[^1]);
        output.WriteLine($"fail-over after a clean stop: {stopped.ElapsedMilliseconds} ms (lease {LeaseDuration})");
        // A clean stop releases the lease: far quicker than waiting out the lease would be (figures in docs/benchmarks.md,
        // measured by the load test). The bound only catches "never": a test host on a loaded 2-core machine was seen to
        // take over 10 s just to stop.
        Assert.InRange(stopped.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(30));
        numbers.Add(await CrlNumberAsync(successor));
        await AssertSameCrlsEverywhereAsync(cluster.Hosts);

        foreach (var host in cluster.Hosts.ToList())
        {
            cluster.Dispose(host);
        }
        using var restarted = new PkiApiFactory(cluster.DataDirectory, settings: FailoverSettings, database: TestDatabase.Postgres);
        _ = restarted.Services;
        Assert.True(Lease(restarted).IsHeld);
        numbers.Add(await CrlNumberAsync(restarted));
        Assert.Equal(numbers.Order(), numbers);
        Assert.Equal(numbers.Count, numbers.Distinct().Count());
    }

    /// <summary>
    /// The holder stops renewing (its cluster job stops, as if it hung or lost the database): another host takes the
    /// lease once it has expired, within about the lease duration, and publishes a higher number; the old holder stops
    /// building and serves what the new one published.
    /// </summary>
    [SkippableFact]
    public async Task Failover_HolderStopsRenewing_AnotherHostTakesOverAfterExpiryAndOldHolderFollows()
    {
        using var cluster = await Cluster.StartAsync(2, FailoverSettings);
        var holder = await cluster.SettleAsync();
        var before = await CrlNumberAsync(holder);

        var stopped = Stopwatch.StartNew();
        await holder.Services.GetServices<IHostedService>().OfType<CrlClusterJob>().Single().StopAsync(CancellationToken.None);
        var successor = await WaitForNewHolderAsync(cluster.Hosts.Where(h => h != holder), before);
        output.WriteLine($"fail-over after the holder stopped renewing: {stopped.ElapsedMilliseconds} ms (lease {LeaseDuration})");
        // Not before the lease can have expired; the upper bound only catches "never" (the times are measured, not asserted).
        Assert.InRange(stopped.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));

        Assert.False(Lease(holder).IsHeld);
        await holder.Services.GetRequiredService<CrlPublisher>().EnsurePublishedAfterAsync(CancellationToken.None);
        Assert.False(Lease(holder).IsHeld);
        var after = await CrlNumberAsync(successor);
        Assert.True(after > before);
        Assert.Equal(after, await CrlNumberAsync(holder));
        await AssertSameCrlsEverywhereAsync(cluster.Hosts);
    }

    /// <summary>
    /// Fencing: the lease is taken over while the holder still believes it holds it (it stalled past the expiry).
    /// Its next build reserves numbers and signs, but the publishing transaction finds the lease gone and publishes
    /// nothing; the node then stops building.
    /// </summary>
    [SkippableFact]
    public async Task Publish_LeaseTakenOverBehindHoldersBack_PublishesNothing()
    {
        using var cluster = await Cluster.StartAsync(1);
        var holder = cluster.Hosts[0];
        // Settle first: the job's own builds (taking the lease over, renewals) must not race the takeover below. One CI
        // run read CRL 1 here while the takeover build was still to publish CRLs 3 and 5 (before the lease moved).
        await WaitUntilAsync(() => Task.FromResult(Lease(holder).IsHeld), TimeSpan.FromSeconds(10));
        await holder.Services.GetServices<IHostedService>().OfType<CrlClusterJob>().Single().StopAsync(CancellationToken.None);
        Assert.True(Lease(holder).IsHeld);
        await holder.Services.GetRequiredService<CrlPublisher>().EnsurePublishedAfterAsync(CancellationToken.None);
        var published = await CrlNumberAsync(holder);
        Assert.Equal(published, await ScalarAsync<long>(holder,
            "SELECT \"Number\" FROM \"PublishedCrls\" WHERE \"Kind\" = 'Complete' AND \"IssuerFingerprint\" = @ca", Issuing(holder)));
        var reserved = await ScalarAsync<long>(holder, "SELECT \"LastNumber\" FROM \"CrlNumbers\" WHERE \"IssuerFingerprint\" = @ca", Issuing(holder));
        await ExecuteAsync(holder,
            "UPDATE \"Leases\" SET \"Holder\" = 'another-node', \"Generation\" = \"Generation\" + 1, \"ExpiresAt\" = now() + interval '1 hour'");
        Assert.True(Lease(holder).IsHeld); // it does not know yet

        await holder.Services.GetRequiredService<CrlPublisher>().EnsurePublishedAfterAsync(CancellationToken.None);

        Assert.True(await ScalarAsync<long>(holder, "SELECT \"LastNumber\" FROM \"CrlNumbers\" WHERE \"IssuerFingerprint\" = @ca", Issuing(holder)) > reserved,
            "the holder built (it reserved CRL numbers) before the fence refused it");
        Assert.Equal(published, await ScalarAsync<long>(holder,
            "SELECT \"Number\" FROM \"PublishedCrls\" WHERE \"Kind\" = 'Complete' AND \"IssuerFingerprint\" = @ca", Issuing(holder)));
        Assert.Equal(published, await CrlNumberAsync(holder));
        Assert.False(Lease(holder).IsHeld);
    }

    /// <summary>A row in PublishedCrls whose signature does not verify with the CA's key (written by someone else than the holder) is never served.</summary>
    [SkippableFact]
    public async Task Reload_PublishedCrlWithBadSignature_NotServed()
    {
        using var cluster = await Cluster.StartAsync(2);
        var holder = await cluster.SettleAsync();
        var follower = cluster.Hosts.Single(h => h != holder);
        // The holder stops building (its lease runs on for a while), and the follower serves its last CRL: no legitimate
        // publication may replace the tampered row below or change what the follower serves. (One CI run read CRL 7
        // here, then the holder published 9 and the follower served it.)
        await holder.Services.GetServices<IHostedService>().OfType<CrlClusterJob>().Single().StopAsync(CancellationToken.None);
        var published = await ScalarAsync<long>(holder,
            "SELECT \"Number\" FROM \"PublishedCrls\" WHERE \"Kind\" = 'Complete' AND \"IssuerFingerprint\" = @ca", Issuing(holder));
        await WaitUntilAsync(async () => await CrlNumberAsync(follower) == published, TimeSpan.FromSeconds(10));
        var served = await CrlNumberAsync(follower);
        await ExecuteAsync(follower,
            "UPDATE \"PublishedCrls\" SET \"Number\" = \"Number\" + 100, " +
            "\"Der\" = set_byte(\"Der\", length(\"Der\") - 2, get_byte(\"Der\", length(\"Der\") - 2) # 1) WHERE \"Kind\" = 'Complete'");

        Assert.False(await follower.Services.GetRequiredService<CrlPublisher>().ReloadAsync(CancellationToken.None));
        Assert.Equal(served, await CrlNumberAsync(follower));
    }

    private static CrlBuilderLease Lease(PkiApiFactory host) => host.Services.GetRequiredService<CrlBuilderLease>();

    private static string Issuing(PkiApiFactory host) => host.Services.GetRequiredService<CaHierarchy>().Issuing.Fingerprint;

    private static async Task<PkiApiFactory> WaitForNewHolderAsync(IEnumerable<PkiApiFactory> hosts, long aboveNumber)
    {
        PkiApiFactory? successor = null;
        await WaitUntilAsync(async () =>
        {
            successor = hosts.FirstOrDefault(h => Lease(h).IsHeld);
            return successor is not null && await CrlNumberAsync(successor) > aboveNumber;
        }, TimeSpan.FromSeconds(30)); // only catches "never": a run at load 26 took over 10 s
        return successor!;
    }

    private static async Task RevokeOneAsync(PkiApiFactory host, string name)
    {
        var token = await host.CreateTokenAsync(name);
        var enrolled = (await (await host.EnrollAsync(token, Csrs.P256(name))).Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        using var admin = host.CreateAdminClient();
        (await admin.PostAsJsonAsync($"/api/v1/certificates/{enrolled.SerialNumber}/revoke", new { reason = "superseded" })).EnsureSuccessStatusCode();
    }

    /// <summary>Every host answers every CRL path with the same bytes and the same ETag (after at most one poll interval).</summary>
    private static async Task AssertSameCrlsEverywhereAsync(IReadOnlyList<PkiApiFactory> hosts)
    {
        await WaitUntilAsync(async () =>
        {
            var numbers = await Task.WhenAll(hosts.Select(CrlNumberAsync));
            return numbers.Distinct().Count() == 1;
        }, TimeSpan.FromSeconds(2));
        foreach (var path in CrlPaths)
        {
            var answers = new List<(byte[] Body, string ETag)>();
            foreach (var host in hosts)
            {
                using var client = host.CreateClient();
                using var response = await client.GetAsync(path);
                response.EnsureSuccessStatusCode();
                answers.Add((await response.Content.ReadAsByteArrayAsync(), response.Headers.ETag!.Tag));
            }
            Assert.All(answers, a => Assert.Equal(answers[0].Body, a.Body));
            Assert.All(answers, a => Assert.Equal(answers[0].ETag, a.ETag));
        }
    }

    private static async Task<bool> ListsAsync(PkiApiFactory host, string path, SerialNumber serial)
    {
        using var client = host.CreateClient();
        var crl = new X509CrlParser().ReadCrl(await client.GetByteArrayAsync(path));
        return crl.GetRevokedCertificate(new Org.BouncyCastle.Math.BigInteger(serial.Hex, 16)) is not null;
    }

    private static async Task<long> CrlNumberAsync(PkiApiFactory host)
    {
        using var client = host.CreateClient();
        var crl = new X509CrlParser().ReadCrl(await client.GetByteArrayAsync("/pki/crl"));
        return DerInteger.GetInstance(Asn1OctetString.GetInstance(crl.GetExtensionValue(X509Extensions.CrlNumber)).GetOctets()).LongValueExact;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(watch.Elapsed < timeout, $"not reached within {timeout.TotalSeconds} s");
            await Task.Delay(20);
        }
    }

    private static async Task<T> ScalarAsync<T>(PkiApiFactory host, string sql, string? ca = null)
    {
        await using var connection = Connect(host);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        if (ca is not null)
        {
            command.Parameters.AddWithValue("ca", ca);
        }
        return (T)(await command.ExecuteScalarAsync())!;
    }

    internal static async Task ExecuteAsync(PkiApiFactory host, string sql)
    {
        await using var connection = Connect(host);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static NpgsqlConnection Connect(PkiApiFactory host) =>
        new(host.Database.Settings(host.DataDirectory)["ConnectionStrings:Pki"]);

    /// <summary>N hosts on one database and one data directory, started one after the other (the first creates the CA).</summary>
    private sealed class Cluster : IDisposable
    {
        private readonly List<PkiApiFactory> _hosts = [];

        public IReadOnlyList<PkiApiFactory> Hosts => _hosts;

        public string DataDirectory { get; private init; } = "";

        /// <summary>
        /// Starts the hosts and waits until the cluster has settled: one holder whose start-up builds (the first CRL, the
        /// build after taking the lease) are published, and every host serving that CRL. Tests that read a CRL number
        /// and then act would otherwise race those builds (two CI runs under load saw a number move under a test).
        /// </summary>
        public static async Task<Cluster> StartAsync(int count, Dictionary<string, string?>? settings = null)
        {
            var cluster = Start(count, settings);
            await cluster.SettleAsync();
            return cluster;
        }

        /// <summary>
        /// Waits (up to 30 s) until one host holds the lease, its builds are published and every host serves that CRL;
        /// returns the holder. Two hosts holding the lease at once fails at once.
        /// </summary>
        public async Task<PkiApiFactory> SettleAsync()
        {
            var watch = Stopwatch.StartNew();
            while (true)
            {
                var holders = Hosts.Where(h => Lease(h).IsHeld).ToList();
                Assert.True(holders.Count <= 1, $"{holders.Count} hosts hold the CRL builder lease at once");
                if (holders.Count == 1)
                {
                    var publisher = holders[0].Services.GetRequiredService<CrlPublisher>();
                    await publisher.EnsurePublishedAfterAsync(CancellationToken.None); // waits out a build under way
                    var published = await ScalarAsync<long>(holders[0],
                        "SELECT \"Number\" FROM \"PublishedCrls\" WHERE \"Kind\" = 'Complete' AND \"IssuerFingerprint\" = @ca", Issuing(holders[0]));
                    var served = await Task.WhenAll(Hosts.Select(CrlNumberAsync));
                    if (!publisher.IsDue(DateTimeOffset.UtcNow) && served.All(n => n == published) && Lease(holders[0]).IsHeld)
                    {
                        return holders[0];
                    }
                }
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"the cluster of {Hosts.Count} did not settle within 30 s");
                await Task.Delay(50);
            }
        }

        private static Cluster Start(int count, Dictionary<string, string?>? settings)
        {
            settings ??= Settings;
            var first = new PkiApiFactory(settings: settings, database: TestDatabase.Postgres);
            var cluster = new Cluster { DataDirectory = first.DataDirectory };
            cluster._hosts.Add(first);
            _ = first.Services;
            for (var i = 1; i < count; i++)
            {
                var host = new PkiApiFactory(first.DataDirectory, settings: settings, database: TestDatabase.Postgres);
                cluster._hosts.Add(host);
                _ = host.Services;
            }
            return cluster;
        }

        public void Dispose(PkiApiFactory host)
        {
            _hosts.Remove(host);
            host.Dispose();
        }

        public void Dispose()
        {
            foreach (var host in _hosts)
            {
                host.Dispose();
            }
        }
    }
}
