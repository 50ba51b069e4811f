using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Org.BouncyCastle.X509;
using PkiService.Api.Features.Ocsp;
using PkiService.Api.Infrastructure;
using PkiService.Api.Revocation;
using PkiService.Api.Tests.Support;
using PkiService.Core.Authorities;
using PkiService.Core.Ocsp;
using PkiService.Core.Primitives;
using PkiService.Persistence;
using PkiService.Persistence.Postgres;
using Xunit.Abstractions;

namespace PkiService.Api.Tests.Revocation;

/// <summary>
/// Two nodes on one PostgreSQL database (two real hosts; they share a data directory because the CA keys are still files):
/// a revocation on node A reaches node B's OCSP caches through LISTEN/NOTIFY; a lost listening connection makes B stop
/// answering from its caches until it listens again and has reloaded, so a missed announcement never leaves a stale
/// <c>good</c>.
/// </summary>
public sealed class CertificateStatusAnnouncementsTests(ITestOutputHelper output)
{
    private const string NodeBApplicationName = "node-b";

    [SkippableFact]
    public async Task Revoke_OnNodeA_NodeBThatCachedGoodAnswersRevoked()
    {
        using var a = new PkiApiFactory(database: TestDatabase.Postgres);
        using var b = NodeB(a);
        using var adminA = a.CreateAdminClient();
        using var clientB = b.CreateClient();
        await WaitUntilTrustedAsync(b);
        var issuer = OcspClient.Parse(await clientB.GetByteArrayAsync("/pki/ca.crt"));
        const int revocations = 50;
        var serials = new List<string>();
        for (var i = 0; i < revocations; i++)
        {
            serials.Add(await EnrollAsync(a, $"cross-node-{i}"));
        }

        // A third session listens too, to time when the revocation committed (PostgreSQL sends at commit).
        await using var observer = (NpgsqlConnection)a.Database.Open(a.DataDirectory);
        var clock = Stopwatch.StartNew();
        var heard = new System.Collections.Concurrent.ConcurrentDictionary<string, TimeSpan>();
        observer.Notification += (_, notification) => heard.TryAdd(notification.Payload.Split(' ')[1], clock.Elapsed);
        await ExecuteAsync(observer, "LISTEN pki_status");
        using var stopObserving = new CancellationTokenSource();
        var observing = Task.Run(async () =>
        {
            while (!stopObserving.IsCancellationRequested)
            {
                await observer.WaitAsync(TimeSpan.FromMilliseconds(200));
            }
        });
        try
        {
            await RevokeAndMeasureAsync();
        }
        finally
        {
            await stopObserving.CancelAsync();
            await observing;
        }
        Assert.Equal(0, Listener(b).Losses);

        async Task RevokeAndMeasureAsync()
        {
            var endToEnd = new List<double>();
            var afterCommit = new List<double>();
            var revokeAnswers = new List<double>();
            foreach (var serial in serials)
            {
                var request = OcspClient.Request(issuer, serial);
                Assert.Equal("good", await OcspAsync(clientB, request));
                Assert.Equal("good", await OcspAsync(clientB, request)); // now from B's cache
                var sent = clock.Elapsed;
                var revoke = adminA.PostAsync($"/api/v1/certificates/{serial}/revoke", JsonContent.Create(new { reason = "keyCompromise" }));
                string status;
                while ((status = await OcspAsync(clientB, request)) == "good" && clock.Elapsed - sent < TimeSpan.FromSeconds(10))
                {
                }
                var revokedOnB = clock.Elapsed;
                Assert.Equal("revoked:1", status);
                Assert.Equal(HttpStatusCode.OK, (await revoke).StatusCode);
                revokeAnswers.Add((clock.Elapsed - sent).TotalMilliseconds);
                Assert.Equal("revoked:1", await OcspAsync(clientB, request)); // and stays so
                endToEnd.Add((revokedOnB - sent).TotalMilliseconds);
                await WaitForAsync(() => Task.FromResult(heard.ContainsKey(serial)), "the observer hears the announcement");
                afterCommit.Add(Math.Max(0, (revokedOnB - heard[serial]).TotalMilliseconds));
            }

            output.WriteLine($"Over {revocations} revocations on node A, node B (which had cached 'good') answered 'revoked': " +
                $"after the revoke was sent p50 {Percentile(endToEnd, 50):0.0} ms, p99 {Percentile(endToEnd, 99):0.0} ms; " +
                $"after the commit (a third listener heard it) p50 {Percentile(afterCommit, 50):0.0} ms, p99 {Percentile(afterCommit, 99):0.0} ms, max {afterCommit.Max():0.0} ms; " +
                $"node A's own revoke answer p50 {Percentile(revokeAnswers, 50):0.0} ms, p99 {Percentile(revokeAnswers, 99):0.0} ms");
            Assert.True(Percentile(afterCommit, 50) < 500, $"median {Percentile(afterCommit, 50):0} ms after the commit");
        }
    }

    /// <summary>
    /// Announcements B cannot use (a serial it never cached, garbage) change nothing: its other cached answers stay, and
    /// the next real announcement is still acted on.
    /// </summary>
    [SkippableFact]
    public async Task Announcement_ForSerialNeverCachedOrMalformed_IsHarmless()
    {
        using var a = new PkiApiFactory(database: TestDatabase.Postgres);
        using var b = NodeB(a);
        using var clientB = b.CreateClient();
        await WaitUntilTrustedAsync(b);
        var issuer = OcspClient.Parse(await clientB.GetByteArrayAsync("/pki/ca.crt"));
        var kept = await EnrollAsync(a, "kept-cached");
        var marker = await EnrollAsync(a, "marker");
        foreach (var serial in new[] { kept, marker })
        {
            Assert.Equal("good", await OcspAsync(clientB, OcspClient.Request(issuer, serial)));
        }
        Assert.Equal(2, Replies(b));
        Assert.True(IsCached(b, kept));
        var fingerprint = IssuingFingerprint(a);

        await using (var connection = (NpgsqlConnection)a.Database.Open(a.DataDirectory))
        {
            var never = SerialNumber.NewRandom().Hex;
            foreach (var payload in new[]
            {
                $"{fingerprint} {never} some-other-node", "garbage", $"{fingerprint} ZZ some-other-node", "", new string('x', 7000),
                $"{fingerprint} {kept}", $"{fingerprint} {kept} node with spaces",
            })
            {
                await ExecuteAsync(connection, "SELECT pg_notify('pki_status', @payload)", ("payload", payload));
            }
            // Then a real change, announced as a node announces it: when B answers it, B has handled everything before.
            await using var transaction = await connection.BeginTransactionAsync();
            await ExecuteAsync(connection, "UPDATE \"Certificates\" SET \"Status\" = 'Revoked', \"RevokedAt\" = now(), \"RevocationReason\" = 'keyCompromise' WHERE \"SerialNumber\" = @serial", ("serial", marker));
            await ExecuteAsync(connection, "SELECT pg_notify('pki_status', @payload)", ("payload", CertificateStatusAnnouncements.Format(fingerprint, SerialNumber.Parse(marker), "some-other-node")));
            await transaction.CommitAsync();
        }

        await WaitForAsync(async () => await OcspAsync(clientB, OcspClient.Request(issuer, marker)) == "revoked:1", "B answers the marker revoked");
        Assert.True(IsCached(b, kept), "the reply for the certificate nobody changed is still cached");
        Assert.Equal("good", await OcspAsync(clientB, OcspClient.Request(issuer, kept)));
        Assert.Equal(0, Listener(b).Losses);
        Assert.True(Listener(b).IsListening);
    }

    /// <summary>
    /// B's listening backend is terminated and B cannot reconnect for a while (the database refuses new connections);
    /// meanwhile a certificate B had cached as good is revoked with no announcement at all (directly in SQL). B stops
    /// answering from its cache the moment it finds the connection lost, so it answers revoked during the outage and
    /// after; it reconnects by itself (metrics) and caches again afterwards.
    /// </summary>
    [SkippableFact]
    public async Task ListeningConnectionLost_CertificateRevokedMeanwhile_NeverAnswersGoodAndCachesAgainAfterReconnect()
    {
        using var a = new PkiApiFactory(database: TestDatabase.Postgres);
        using var b = NodeB(a);
        using var clientB = b.CreateClient();
        await WaitUntilTrustedAsync(b);
        var issuer = OcspClient.Parse(await clientB.GetByteArrayAsync("/pki/ca.crt"));
        var revoked = await EnrollAsync(a, "revoked-while-lost");
        var good = await EnrollAsync(a, "good-all-along");
        foreach (var serial in new[] { revoked, good })
        {
            Assert.Equal("good", await OcspAsync(clientB, OcspClient.Request(issuer, serial)));
        }
        Assert.Equal(2, Replies(b));
        var databaseName = new NpgsqlConnectionStringBuilder(ConnectionString(a)).Database!;
        await using var maintenance = new NpgsqlConnection(PostgresCluster.Shared.ConnectionString());
        await maintenance.OpenAsync();
        await using var sql = (NpgsqlConnection)a.Database.Open(a.DataDirectory); // opened before the database refuses connections

        await ExecuteAsync(maintenance, $"ALTER DATABASE \"{databaseName}\" ALLOW_CONNECTIONS false");
        try
        {
            Assert.Equal(1L, await ScalarAsync(maintenance,
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = @db AND application_name = @name",
                ("db", databaseName), ("name", NodeBApplicationName + " listener")));
            // Trust is withdrawn first, then the cache empties itself: wait for both (read in between, a reply may still
            // be there for a moment, but it is no longer answered from).
            await WaitForAsync(() => Task.FromResult(Listener(b).Losses == 1 && !Trust(b).IsTrusted && Replies(b) == 0),
                "B finds its listening connection lost and drops its cached replies");

            await ExecuteAsync(sql, "UPDATE \"Certificates\" SET \"Status\" = 'Revoked', \"RevokedAt\" = now(), \"RevocationReason\" = 'keyCompromise' WHERE \"SerialNumber\" = @serial", ("serial", revoked));

            for (var i = 0; i < 5; i++)
            {
                Assert.Equal("revoked:1", await OcspAsync(clientB, OcspClient.Request(issuer, revoked)));
                Assert.Equal("good", await OcspAsync(clientB, OcspClient.Request(issuer, good)));
            }
            Assert.Equal(0, Replies(b)); // nothing is kept while B may be missing announcements
            Assert.False(Listener(b).IsListening, "B cannot have reconnected while the database refuses connections");
        }
        finally
        {
            await ExecuteAsync(maintenance, $"ALTER DATABASE \"{databaseName}\" ALLOW_CONNECTIONS true");
        }

        await WaitUntilTrustedAsync(b);
        Assert.Equal((1L, 2L), (Listener(b).Losses, Listener(b).Listenings));
        Assert.Equal("revoked:1", await OcspAsync(clientB, OcspClient.Request(issuer, revoked)));
        Assert.Equal("good", await OcspAsync(clientB, OcspClient.Request(issuer, good)));
        Assert.Equal(2, Replies(b)); // caching again
        Assert.Equal("revoked:1", await OcspAsync(clientB, OcspClient.Request(issuer, revoked)));
        using var metrics = await clientB.GetAsync("/metrics");
        var exposition = await metrics.Content.ReadAsStringAsync();
        // Exported (values are not compared: the exporter also sees the meters of other test hosts in this process).
        Assert.NotNull(PrometheusText.Value(exposition, "pki_cluster_notifications_lost_total"));
        Assert.NotNull(PrometheusText.Value(exposition, "pki_cluster_notifications_listening"));
        Assert.NotNull(PrometheusText.Value(exposition, "pki_cluster_notifications_listening_started_total"));
    }

    /// <summary>
    /// The announcement is made inside the revoking transaction: PostgreSQL sends it when that commits, never when it
    /// rolls back; a revoke call on a node sends exactly one, naming the issuer, the serial and the node.
    /// </summary>
    [SkippableFact]
    public async Task Announce_RolledBackTransaction_SendsNothing_RevokeCallSendsOne()
    {
        using var a = new PkiApiFactory(database: TestDatabase.Postgres);
        using var adminA = a.CreateAdminClient();
        await WaitUntilTrustedAsync(a);
        var serial = await EnrollAsync(a, "announced-once");
        var fingerprint = IssuingFingerprint(a);
        var announcements = a.Services.GetRequiredService<CertificateStatusAnnouncements>();
        var nodeId = a.Services.GetRequiredService<NodeInstance>().Id;
        await using var listen = (NpgsqlConnection)a.Database.Open(a.DataDirectory);
        var heard = new List<string>();
        listen.Notification += (_, notification) => heard.Add(notification.Payload);
        await ExecuteAsync(listen, "LISTEN pki_status");

        await using (var scope = a.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();
            await Assert.ThrowsAsync<InvalidOperationException>(() =>
                announcements.AnnounceAsync(db, fingerprint, SerialNumber.Parse(serial), CancellationToken.None));
            await using var transaction = await db.Database.BeginTransactionAsync();
            await announcements.AnnounceAsync(db, fingerprint, SerialNumber.Parse(serial), CancellationToken.None);
            await transaction.RollbackAsync();
        }
        Assert.False(await listen.WaitAsync(TimeSpan.FromSeconds(1)), "a rolled-back announcement arrived");
        var revoke = await adminA.PostAsync($"/api/v1/certificates/{serial}/revoke", JsonContent.Create(new { reason = "keyCompromise" }));
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        var conflict = await adminA.PostAsync($"/api/v1/certificates/{serial}/revoke", JsonContent.Create(new { reason = "keyCompromise" }));
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);

        Assert.True(await listen.WaitAsync(TimeSpan.FromSeconds(5)));
        while (await listen.WaitAsync(TimeSpan.FromMilliseconds(500)))
        {
        }
        Assert.Equal([$"{fingerprint} {serial} {nodeId}"], heard);
        Assert.True(CertificateStatusAnnouncements.TryParse(heard[0], out var issuer, out var parsed, out var sender));
        Assert.Equal((fingerprint, serial, nodeId), (issuer, parsed.Hex, sender));
    }

    /// <summary>A node's own announcement changes nothing there (its revoke call already did); another node's does.</summary>
    [SkippableFact]
    public async Task Notified_OwnAnnouncementSkipped_OtherNodesActedOn()
    {
        using var a = new PkiApiFactory(database: TestDatabase.Postgres);
        using var client = a.CreateClient();
        await WaitUntilTrustedAsync(a);
        var issuer = OcspClient.Parse(await client.GetByteArrayAsync("/pki/ca.crt"));
        var serial = await EnrollAsync(a, "own-announcement");
        Assert.Equal("good", await OcspAsync(client, OcspClient.Request(issuer, serial)));
        Assert.Equal(1, Replies(a));
        var announcements = a.Services.GetRequiredService<CertificateStatusAnnouncements>();
        var fingerprint = IssuingFingerprint(a);

        await announcements.NotifiedAsync(CertificateStatusAnnouncements.Format(fingerprint, SerialNumber.Parse(serial), a.Services.GetRequiredService<NodeInstance>().Id), CancellationToken.None);
        Assert.Equal(1, Replies(a));

        await announcements.NotifiedAsync(CertificateStatusAnnouncements.Format(fingerprint, SerialNumber.Parse(serial), "another-node-1-00000000"), CancellationToken.None);
        Assert.Equal(0, Replies(a));
    }

    /// <summary>
    /// A burst of other nodes' changes while the CRL follow-up is slow (a follower waits for the holder's CRL): every
    /// change's cached answers are dropped the moment it is heard, and the follow-ups neither pile up nor hold the
    /// listener: one runs, the burst waits as one (the newest), and nothing else is kept.
    /// </summary>
    [Fact]
    public async Task Notified_BurstWhileRebuildIsSlow_EveryChangeDroppedAtOnce_RebuildsCoalesced()
    {
        using var factory = new PkiApiFactory();
        var changes = new SlowRebuilds();
        var announcements = new CertificateStatusAnnouncements(factory.Services.GetRequiredService<IPkiDatabase>(), new NodeInstance(), changes,
            new StatusCacheTrust(trustedAtStart: true), Microsoft.Extensions.Logging.Abstractions.NullLogger<CertificateStatusAnnouncements>.Instance);
        var issuer = new string('B', 64);
        var serials = Enumerable.Range(1, 500).Select(i => SerialNumber.FromUnsignedBytes(BitConverter.GetBytes(i))).ToList();

        for (var i = 0; i < serials.Count; i++)
        {
            var heard = announcements.NotifiedAsync(CertificateStatusAnnouncements.Format(issuer, serials[i], "another-node-1-00000000"), CancellationToken.None);
            Assert.True(heard.IsCompleted); // the listener is never held
            Assert.Equal(serials[i], changes.Dropped[^1].SerialNumber); // dropped before the call returned
            if (i == 0)
            {
                await WaitForAsync(() => Task.FromResult(changes.Started.Count == 1), "the first follow-up starts");
            }
        }
        Assert.Equal(serials[0], changes.Started.Single().SerialNumber);
        Assert.Equal(serials.Count, changes.Dropped.Count);

        changes.Release();
        await WaitForAsync(() => Task.FromResult(changes.Finished == 2), "the waiting follow-up runs");
        Assert.Equal([serials[0], serials[^1]], changes.Started.Select(c => c.SerialNumber));
        await Task.Delay(200);
        Assert.Equal(2, changes.Started.Count); // and nothing more

        // Later changes start a follow-up again.
        await announcements.NotifiedAsync(CertificateStatusAnnouncements.Format(issuer, serials[1], "another-node-1-00000000"), CancellationToken.None);
        await WaitForAsync(() => Task.FromResult(changes.Finished == 3), "a later change is followed");
    }

    /// <summary>Records drops; rebuilds wait until released.</summary>
    private sealed class SlowRebuilds : ICertificateStatusChanges
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _finished;

        public List<CertificateStatusChange> Dropped { get; } = [];

        public System.Collections.Concurrent.ConcurrentQueue<CertificateStatusChange> StartedQueue { get; } = new();

        public List<CertificateStatusChange> Started => [.. StartedQueue];

        public int Finished => Volatile.Read(ref _finished);

        public void Release() => _released.TrySetResult();

        public void Drop(CertificateStatusChange change) => Dropped.Add(change);

        public async Task RebuildAsync(CertificateStatusChange change, CancellationToken cancellationToken)
        {
            StartedQueue.Enqueue(change);
            await _released.Task;
            Interlocked.Increment(ref _finished);
        }

        public Task StatusChangedAsync(string issuerFingerprint, SerialNumber serialNumber, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("not used by announcements");

        public Task AllStatusesMayHaveChangedAsync(CancellationToken cancellationToken) =>
            throw new InvalidOperationException("not used by announcements");
    }

    /// <summary>SQLite: nobody else to hear, so the caches are trusted from the start and the listener is in effect at once.</summary>
    [Fact]
    public async Task Sqlite_CachesTrustedFromTheStart_ListenerNeverLost()
    {
        using var factory = new PkiApiFactory();
        using var client = factory.CreateClient();
        var issuer = OcspClient.Parse(await client.GetByteArrayAsync("/pki/ca.crt"));
        var serial = await EnrollAsync(factory, "sqlite-node");

        Assert.Equal("good", await OcspAsync(client, OcspClient.Request(issuer, serial)));

        Assert.True(Trust(factory).IsTrusted);
        Assert.Equal(1, Replies(factory));
        await WaitForAsync(() => Task.FromResult(Listener(factory).IsListening), "the SQLite listener is in effect");
        Assert.Equal((0L, 1L), (Listener(factory).Losses, Listener(factory).Listenings));
    }

    private static PkiApiFactory NodeB(PkiApiFactory a)
    {
        _ = a.Services; // A creates the CA hierarchy and the schema first
        var connectionString = new NpgsqlConnectionStringBuilder(ConnectionString(a)) { ApplicationName = NodeBApplicationName }.ConnectionString;
        var b = new PkiApiFactory(a.DataDirectory, settings: new Dictionary<string, string?> { [PostgresPkiDatabase.ConnectionStringKey] = connectionString },
            database: TestDatabase.Postgres);
        _ = b.Services;
        return b;
    }

    private static string ConnectionString(PkiApiFactory factory) => factory.Database.Settings(factory.DataDirectory)[PostgresPkiDatabase.ConnectionStringKey]!;

    private static ClusterNotificationListener Listener(PkiApiFactory factory) => factory.Services.GetRequiredService<ClusterNotificationListener>();

    private static StatusCacheTrust Trust(PkiApiFactory factory) => factory.Services.GetRequiredService<StatusCacheTrust>();

    private static int Replies(PkiApiFactory factory) =>
        factory.Services.GetRequiredService<OcspResponseCache>().Usage().Single(t => t.Table == "replies").Count;

    private static bool IsCached(PkiApiFactory factory, string serial)
    {
        var cache = factory.Services.GetRequiredService<OcspResponseCache>();
        var now = factory.Services.GetRequiredService<TimeProvider>().GetUtcNow();
        return OcspResponder.CacheKeyHashAlgorithms.Any(algorithm =>
            cache.TryGet(new OcspCacheKey(IssuingFingerprint(factory), SerialNumber.Parse(serial), algorithm), now, out _));
    }

    private static string IssuingFingerprint(PkiApiFactory factory) => factory.Services.GetRequiredService<CaHierarchy>().Issuing.Fingerprint;

    private static Task WaitUntilTrustedAsync(PkiApiFactory factory) =>
        WaitForAsync(() => Task.FromResult(Listener(factory).IsListening && Trust(factory).IsTrusted), "the node listens and trusts its caches");

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), $"timed out waiting until {what}");
            await Task.Delay(20);
        }
    }

    private static async Task<string> OcspAsync(HttpClient client, byte[] request)
    {
        using var response = await OcspClient.PostAsync(client, request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return OcspClient.StatusOf(await response.Content.ReadAsByteArrayAsync());
    }

    private static async Task<string> EnrollAsync(PkiApiFactory factory, string commonName)
    {
        var token = await factory.CreateTokenAsync(commonName);
        var response = await factory.EnrollAsync(token, Csrs.P256(commonName));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!.SerialNumber;
    }

    private static double Percentile(List<double> values, int percentile)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Max(0, (int)Math.Ceiling(percentile / 100.0 * sorted.Length) - 1)];
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        return await command.ExecuteScalarAsync();
    }
}
