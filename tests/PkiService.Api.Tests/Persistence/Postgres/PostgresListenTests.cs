using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using PkiService.Api.Tests.Support;
using PkiService.Persistence;
using PkiService.Persistence.Postgres;

namespace PkiService.Api.Tests.Persistence.Postgres;

/// <summary>
/// <see cref="IPkiDatabase.ListenAsync"/> and <see cref="IPkiDatabase.NotifyAsync"/> on a real PostgreSQL server: what
/// is announced inside a transaction arrives, in order, when it commits and never when it rolls back; a listening
/// connection that is cut (backend terminated, server restarted) or silently stops answering (backend frozen with
/// SIGSTOP) is reported lost within seconds and re-established by itself.
/// </summary>
public sealed class PostgresListenTests
{
    private const string Channel = "pki_test";

    [SkippableFact]
    public async Task Listen_AnnouncementsInCommittedTransactions_ArriveInOrderAndRolledBackOnesNever()
    {
        var (database, connectionString) = await DatabaseAsync(PostgresCluster.Shared, "pki_listen_order_");
        var listener = new RecordingListener();
        using var stop = new CancellationTokenSource();
        var listening = database.ListenAsync([Channel, "pki_other"], listener, stop.Token);
        Assert.Equal("listening", await listener.NextAsync());

        await using (var db = Context(database))
        {
            await using (var rolledBack = await db.Database.BeginTransactionAsync())
            {
                await database.NotifyAsync(db, Channel, "rolled-back", CancellationToken.None);
                await rolledBack.RollbackAsync();
            }
            for (var i = 0; i < 20; i++)
            {
                await using var transaction = await db.Database.BeginTransactionAsync();
                await database.NotifyAsync(db, Channel, "n" + i.ToString(CultureInfo.InvariantCulture), CancellationToken.None);
                await transaction.CommitAsync();
            }
            await database.NotifyAsync(db, "pki_other", "other channel", CancellationToken.None);
        }

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal($"notified {Channel} n{i}", await listener.NextAsync());
        }
        Assert.Equal("notified pki_other other channel", await listener.NextAsync());
        Assert.Equal(1, await ListenerSessionsAsync(connectionString));
        await stop.CancelAsync();
        await listening.WaitAsync(TimeSpan.FromSeconds(10)); // ends quietly when cancelled
        Assert.False(listener.HasMore, "nothing else arrived (the rolled-back announcement never did)");
    }

    [SkippableFact]
    public async Task Listen_BackendTerminated_ReportsLostAtOnceThenListensAgain()
    {
        var (database, connectionString) = await DatabaseAsync(PostgresCluster.Shared, "pki_listen_kill_");
        var listener = new RecordingListener();
        using var stop = new CancellationTokenSource();
        var listening = database.ListenAsync([Channel], listener, stop.Token);
        Assert.Equal("listening", await listener.NextAsync());

        var killed = Stopwatch.StartNew();
        Assert.Equal(1, await TerminateListenerAsync(connectionString));

        Assert.Equal("lost", await listener.NextAsync());
        var lostAfter = killed.Elapsed;
        Assert.Equal("listening", await listener.NextAsync());
        Assert.True(lostAfter < TimeSpan.FromSeconds(4.5), // below the idle ping's 2 s + 3 s: found by the broken connection itself
            $"the loss was reported {lostAfter.TotalMilliseconds:0} ms after the backend was terminated");
        await NotifyAsync(database, "after reconnect");
        Assert.Equal($"notified {Channel} after reconnect", await listener.NextAsync());
        await stop.CancelAsync();
        await listening.WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// A connection that stays open but gets no answer (the backend frozen with SIGSTOP, as a half-open TCP connection
    /// after a partition): the idle ping finds it within seconds.
    /// </summary>
    [SkippableFact]
    public async Task Listen_BackendStopsAnswering_ReportsLostWithinSecondsAndReconnects()
    {
        Skip.IfNot(Environment.UserName == "root", "sending SIGSTOP to a PostgreSQL backend needs root");
        var (database, connectionString) = await DatabaseAsync(PostgresCluster.Shared, "pki_listen_frozen_");
        var listener = new RecordingListener();
        using var stop = new CancellationTokenSource();
        var listening = database.ListenAsync([Channel], listener, stop.Token);
        Assert.Equal("listening", await listener.NextAsync());
        var pid = await ListenerPidAsync(connectionString);

        Signal("STOP", pid);
        var frozen = Stopwatch.StartNew();
        try
        {
            Assert.Equal("lost", await listener.NextAsync(TimeSpan.FromSeconds(20)));
            var lostAfter = frozen.Elapsed;
            Assert.Equal("listening", await listener.NextAsync());
            // The ping, not TCP (which takes minutes to give up): the slack only absorbs a loaded machine (7.3 s was seen
            // in CI against a 2 s slack).
            Assert.True(lostAfter < PostgresNotificationListener.IdleInterval + PostgresNotificationListener.PingTimeout + TimeSpan.FromSeconds(10),
                $"a silent connection was found lost after {lostAfter.TotalMilliseconds:0} ms");
        }
        finally
        {
            Signal("CONT", pid);
        }
        await NotifyAsync(database, "after freeze");
        Assert.Equal($"notified {Channel} after freeze", await listener.NextAsync());
        await stop.CancelAsync();
        await listening.WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>The server stops (every connection cut) and comes back: lost at once, listening again once it is up.</summary>
    [SkippableFact]
    public async Task Listen_ServerRestarted_ReportsLostAndListensAgainWhenItIsBack()
    {
        using var cluster = PostgresCluster.Start();
        var (database, connectionString) = await DatabaseAsync(cluster, "pki_listen_restart_");
        var listener = new RecordingListener();
        using var stop = new CancellationTokenSource();
        var listening = database.ListenAsync([Channel], listener, stop.Token);
        Assert.Equal("listening", await listener.NextAsync());

        cluster.StopServer();
        Assert.Equal("lost", await listener.NextAsync());
        await Task.Delay(TimeSpan.FromSeconds(1)); // a few reconnection attempts fail meanwhile
        Assert.False(listener.HasMore, "nothing is reported while the server is down");
        cluster.StartServer();

        Assert.Equal("listening", await listener.NextAsync(TimeSpan.FromSeconds(20)));
        // The test's own pooled connections died with the server (the provider's pool is keyed by its own connection
        // string, which adds settings to the one given, so every pool is cleared).
        NpgsqlConnection.ClearAllPools();
        await NotifyAsync(database, "after restart");
        Assert.Equal($"notified {Channel} after restart", await listener.NextAsync());
        await stop.CancelAsync();
        await listening.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [SkippableFact]
    public async Task Listen_ApplicationNameConfigured_ListenerSessionIsNamedAfterIt()
    {
        var (_, connectionString) = await DatabaseAsync(PostgresCluster.Shared, "pki_listen_name_");
        var named = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "node-b" }.ConnectionString;
        var database = new PostgresPkiDatabase(named);
        var listener = new RecordingListener();
        using var stop = new CancellationTokenSource();
        var listening = database.ListenAsync([Channel], listener, stop.Token);
        Assert.Equal("listening", await listener.NextAsync());

        Assert.Equal(1, await ListenerSessionsAsync(connectionString, "node-b listener"));
        await stop.CancelAsync();
        await listening.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static async Task<(PostgresPkiDatabase Database, string ConnectionString)> DatabaseAsync(PostgresCluster cluster, string prefix)
    {
        var connectionString = await cluster.EnsureDatabaseAsync(prefix + Guid.NewGuid().ToString("N")[..8]);
        var database = new PostgresPkiDatabase(connectionString);
        await using var db = Context(database);
        await database.MigrateAsync(db, CancellationToken.None);
        return (database, connectionString);
    }

    private static async Task NotifyAsync(PostgresPkiDatabase database, string payload)
    {
        await using var db = Context(database);
        await using var transaction = await db.Database.BeginTransactionAsync();
        await database.NotifyAsync(db, Channel, payload, CancellationToken.None);
        await transaction.CommitAsync();
    }

    private static async Task<long> ListenerSessionsAsync(string connectionString, string applicationName = "PkiService listener") =>
        (long)(await ScalarAsync(connectionString,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = @name", applicationName))!;

    private static async Task<int> ListenerPidAsync(string connectionString) =>
        (int)(await ScalarAsync(connectionString,
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = @name", "PkiService listener"))!;

    private static async Task<long> TerminateListenerAsync(string connectionString) =>
        (long)(await ScalarAsync(connectionString,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND application_name = @name",
            "PkiService listener"))!;

    private static async Task<object?> ScalarAsync(string connectionString, string sql, string name)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("name", name);
        return await command.ExecuteScalarAsync();
    }

    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    private static PkiDbContext Context(IPkiDatabase database)
    {
        var options = new DbContextOptionsBuilder<PkiDbContext>();
        database.Configure(options);
        return new PkiDbContext(options.Options);
    }

    /// <summary>Writes down what the database tells it, in order.</summary>
    private sealed class RecordingListener : IDatabaseListener
    {
        private readonly Channel<string> _events = System.Threading.Channels.Channel.CreateUnbounded<string>();

        public bool HasMore => _events.Reader.TryPeek(out _);

        public async Task<string> NextAsync(TimeSpan? timeout = null)
        {
            using var wait = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
            try
            {
                return await _events.Reader.ReadAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                return "(nothing)";
            }
        }

        public Task ListeningAsync(CancellationToken cancellationToken) => _events.Writer.WriteAsync("listening", cancellationToken).AsTask();

        public void Lost() => _events.Writer.TryWrite("lost");

        public Task NotifiedAsync(string channel, string payload, CancellationToken cancellationToken) =>
            _events.Writer.WriteAsync($"notified {channel} {payload}", cancellationToken).AsTask();
    }
}
