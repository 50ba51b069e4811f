using System.Diagnostics;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using PkiService.Api.Features.RevocationStream;
using PkiService.Api.Infrastructure;
using PkiService.Api.Revocation;
using PkiService.Api.Tests.Support;
using PkiService.Persistence.Postgres;
using Xunit.Abstractions;

namespace PkiService.Api.Tests.Features.RevocationStream;

/// <summary>
/// Two nodes on one PostgreSQL database (two real hosts sharing a data directory for the CA key files): a stream open on
/// node B carries revocations made on node A (heard through LISTEN/NOTIFY), and one no node announced (read by B's poll).
/// </summary>
[Collection(RevocationStreamLoadCollection.Name)]
public sealed class RevocationStreamClusterTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Revoke_OnNodeA_ReachesStreamOnNodeB()
    {
        using var a = new PkiApiFactory(database: TestDatabase.Postgres);
        using var b = NodeB(a);
        using var adminA = a.CreateAdminClient();
        using var clientB = b.CreateClient();
        await RevocationStreamTests.WaitForAsync(
            () => b.Services.GetRequiredService<ClusterNotificationListener>().IsListening && b.Services.GetRequiredService<StatusCacheTrust>().IsTrusted,
            "node B listens");
        const int revocations = 10;
        var serials = new List<string>();
        for (var i = 0; i < revocations; i++)
        {
            serials.Add(await RevocationStreamTests.EnrollAsync(a, $"cluster-stream-{i}"));
        }
        await using var stream = await EventStreamReader.OpenAsync(clientB);
        await stream.ReadThroughReadyAsync();

        var latencies = new List<double>();
        foreach (var serial in serials)
        {
            var clock = Stopwatch.StartNew();
            var revoke = adminA.PostAsync($"/api/v1/certificates/{serial}/revoke", JsonContent.Create(new { reason = "keyCompromise" }));
            var received = await stream.NextAsync(TimeSpan.FromSeconds(10));
            latencies.Add(clock.Elapsed.TotalMilliseconds);
            (await revoke).EnsureSuccessStatusCode();
            Assert.Equal("revoked", received?.Type);
            Assert.Equal(serial, received!.SerialNumber);
            Assert.Equal("keyCompromise", received.Json.GetProperty("reason").GetString());
        }

        var sorted = latencies.Order().ToList();
        output.WriteLine($"revoke sent to node A -> event on node B's stream over {revocations} revocations: p50 {sorted[(sorted.Count - 1) / 2]:0.0} ms, max {sorted[^1]:0.0} ms");
        Assert.True(sorted[^1] < 1000, $"slowest event took {sorted[^1]:0} ms");
    }

    /// <summary>
    /// A revocation no node announced (as when B's listening connection was down when it was made) still reaches B's
    /// stream: the feed reads the database on its own every <see cref="RevocationFeed.PollInterval"/>.
    /// </summary>
    [SkippableFact]
    public async Task RevocationNobodyAnnounced_ReachesStreamWithinPollInterval()
    {
        using var a = new PkiApiFactory(database: TestDatabase.Postgres);
        using var b = NodeB(a);
        using var clientB = b.CreateClient();
        var serial = await RevocationStreamTests.EnrollAsync(a, "silent-revocation");
        await using var stream = await EventStreamReader.OpenAsync(clientB);
        await stream.ReadThroughReadyAsync();

        var clock = Stopwatch.StartNew();
        await using (var connection = new NpgsqlConnection(ConnectionString(a)))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                "UPDATE \"Certificates\" SET \"Status\" = 'Revoked', \"RevokedAt\" = now() at time zone 'utc', \"RevocationReason\" = 'superseded' WHERE \"SerialNumber\" = @serial",
                connection);
            command.Parameters.AddWithValue("serial", serial);
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }
        var received = await stream.NextAsync(RevocationFeed.PollInterval + TimeSpan.FromSeconds(5));
        output.WriteLine($"unannounced revocation reached node B's stream after {clock.ElapsedMilliseconds} ms (poll interval {RevocationFeed.PollInterval.TotalSeconds} s)");

        Assert.Equal(serial, received?.SerialNumber);
        Assert.Equal("superseded", received!.Json.GetProperty("reason").GetString());
    }

    private static PkiApiFactory NodeB(PkiApiFactory a)
    {
        _ = a.Services; // A creates the CA hierarchy and the schema first
        var connectionString = new NpgsqlConnectionStringBuilder(ConnectionString(a)) { ApplicationName = "node-b" }.ConnectionString;
        var b = new PkiApiFactory(a.DataDirectory, settings: new Dictionary<string, string?> { [PostgresPkiDatabase.ConnectionStringKey] = connectionString },
            database: TestDatabase.Postgres);
        _ = b.Services;
        return b;
    }

    private static string ConnectionString(PkiApiFactory factory) =>
        factory.Database.Settings(factory.DataDirectory)[PostgresPkiDatabase.ConnectionStringKey]!;
}
