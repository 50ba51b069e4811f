using System.Diagnostics;
using System.Net;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using PkiService.Api.Tests.Support;
using PkiService.Persistence;
using PkiService.Persistence.Postgres;

namespace PkiService.Api.Tests.Persistence.Postgres;

/// <summary>
/// The PostgreSQL provider behind the database seam (<see cref="IPkiDatabase"/>), on a real PostgreSQL server
/// (<see cref="PostgresCluster"/>): start-up checks, the schema applied once by racing nodes, the writer lock that
/// stands in for SQLite's single writer, and the failures it classifies.
/// </summary>
public sealed class PostgresPkiDatabaseTests
{
    [SkippableFact]
    public async Task Start_OnPostgres_EnrollsRevokesAndIsReady()
    {
        using var factory = new PkiApiFactory(database: TestDatabase.Postgres);
        using var admin = factory.CreateAdminClient();

        var token = await factory.CreateTokenAsync("pg-smoke", ["spiffe://example.org/pg-smoke"]);
        var enrolled = await factory.EnrollAsync(token, Csrs.P256("pg-smoke", "spiffe://example.org/pg-smoke"));
        Assert.Equal(HttpStatusCode.Created, enrolled.StatusCode);
        var serial = (await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>(enrolled.Content))!.SerialNumber;
        var revoked = await admin.PostAsync($"/api/v1/certificates/{serial}/revoke", System.Net.Http.Json.JsonContent.Create(new { reason = "keyCompromise" }));
        Assert.True(revoked.IsSuccessStatusCode, await revoked.Content.ReadAsStringAsync());
        var ready = await admin.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var rows = await CountAsync(factory, "SELECT count(*) FROM \"Certificates\" WHERE \"Status\" = 'Revoked'");
        Assert.Equal(1, rows);
        Assert.False(File.Exists(Path.Combine(factory.DataDirectory, "pki.db")), "a PostgreSQL node keeps no SQLite file");
    }

    [SkippableTheory]
    [InlineData("Host=127.0.0.1;Port=1;Database=pki;Username=pki;Timeout=3", "cannot connect to PostgreSQL at host 127.0.0.1 port 1 database pki")]
    [InlineData("Hots=127.0.0.1;Database=pki", "is not a valid Npgsql connection string")]
    [InlineData("", "is not set")]
    public void Start_UnusableConnectionString_IsRefusedWithOneLineNamingTheKey(string connectionString, string expected)
    {
        using var factory = new PkiApiFactory(settings: new Dictionary<string, string?>
        {
            ["Database:Provider"] = "Postgres",
            ["ConnectionStrings:Pki"] = connectionString,
        });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        var refusal = ExceptionChain.Of(error).OfType<PkiService.Api.Infrastructure.StartupConfigurationException>().Single();
        Assert.StartsWith("ConnectionStrings:Pki", refusal.Message, StringComparison.Ordinal);
        Assert.Contains(expected, refusal.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refusal.Message);
    }

    [SkippableFact]
    public void Start_WrongDatabaseName_IsRefusedWithTheServersReason()
    {
        var cluster = PostgresCluster.Shared;
        using var factory = new PkiApiFactory(settings: new Dictionary<string, string?>
        {
            ["Database:Provider"] = "postgres",
            ["ConnectionStrings:Pki"] = cluster.ConnectionString("no_such_database"),
        });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        var refusal = ExceptionChain.Of(error).OfType<PkiService.Api.Infrastructure.StartupConfigurationException>().Single();
        Assert.StartsWith("ConnectionStrings:Pki: cannot connect", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("\"no_such_database\" does not exist", refusal.Message, StringComparison.Ordinal);
    }

    /// <summary>N nodes starting at once on an empty database: each migration is applied once, and every node starts.</summary>
    [SkippableFact]
    public async Task Migrate_SixNodesAtOnceOnAnEmptyDatabase_AppliesTheSchemaOnce()
    {
        var connectionString = await PostgresCluster.Shared.EnsureDatabaseAsync("pki_migrate_race_" + Guid.NewGuid().ToString("N")[..8]);
        var database = new PostgresPkiDatabase(connectionString);

        await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
        {
            await using var db = Context(database);
            await database.MigrateAsync(db, CancellationToken.None);
        })));

        await using var check = Context(database);
        var applied = await check.Database.SqlQueryRaw<string>("SELECT \"MigrationId\" AS \"Value\" FROM \"__EFMigrationsHistory\"").ToListAsync();
        Assert.Equal(check.Database.GetMigrations().Order(), applied.Order());
        Assert.Empty(await check.Database.GetPendingMigrationsAsync());
    }

    /// <summary>
    /// The contract the web host's writers rely on (see <see cref="IPkiDatabase"/>): a transaction holds the one write
    /// lock from BeginTransaction on, so a second writer (another node) waits until the first commits, and then reads
    /// what it committed.
    /// </summary>
    [SkippableFact]
    public async Task BeginTransaction_HoldsTheWriteLockUntilCommit()
    {
        var connectionString = await PostgresCluster.Shared.EnsureDatabaseAsync("pki_writer_lock_" + Guid.NewGuid().ToString("N")[..8]);
        var database = new PostgresPkiDatabase(connectionString);
        await using (var setup = Context(database))
        {
            await database.MigrateAsync(setup, CancellationToken.None);
        }
        await using var first = Context(database);
        await using var second = Context(database);

        var firstTransaction = await first.Database.BeginTransactionAsync();
        first.CrlNumbers.Add(new PkiService.Persistence.Entities.CrlNumberRecord { IssuerFingerprint = "AA", LastNumber = 7, UpdatedAt = DateTime.UtcNow });
        await first.SaveChangesAsync();
        var secondWriter = Task.Run(async () =>
        {
            await using var transaction = await second.Database.BeginTransactionAsync();
            var seen = await second.CrlNumbers.AsNoTracking().SingleOrDefaultAsync(n => n.IssuerFingerprint == "AA");
            await transaction.CommitAsync();
            return seen?.LastNumber;
        });
        await Task.Delay(500);
        Assert.False(secondWriter.IsCompleted, "a second writer began while the first held the write lock");
        await firstTransaction.CommitAsync();

        Assert.Equal(7, await secondWriter.WaitAsync(TimeSpan.FromSeconds(10)));
        await firstTransaction.DisposeAsync();
    }

    /// <summary>
    /// The provider skips Npgsql's reset of a pooled connection (seven statements the server runs per request) and
    /// prepares repeated statements, unless the connection string, as written, says otherwise.
    /// </summary>
    [Theory]
    [InlineData("Host=db;Database=pki", true, 64)]
    [InlineData("Host=db;Database=pki;No Reset On Close=false", false, 64)]
    [InlineData("Host=db;Database=pki;noresetonclose=False;Max Auto Prepare=5", false, 5)]
    [InlineData("Host=db;Database=pki;NO RESET ON CLOSE=true", true, 64)]
    public void ConnectionString_PoolResetAndPreparation_DefaultUnlessWritten(string written, bool noReset, int maxAutoPrepare)
    {
        using var db = Context(new PostgresPkiDatabase(written));

        var used = new NpgsqlConnectionStringBuilder(db.Database.GetConnectionString());

        Assert.Equal(noReset, used.NoResetOnClose);
        Assert.Equal(maxAutoPrepare, used.MaxAutoPrepare);
        Assert.Equal("db", used.Host);
    }

    /// <summary>
    /// What skipping the reset relies on: a pooled connection given back in the middle of a transaction comes out of
    /// the pool with that transaction rolled back, its locks released and nothing of it visible.
    /// </summary>
    [SkippableFact]
    public async Task PooledConnection_ReturnedInsideATransaction_ComesBackRolledBack()
    {
        var connectionString = await PostgresCluster.Shared.EnsureDatabaseAsync("pki_pool_reset_" + Guid.NewGuid().ToString("N")[..8]);
        // One connection in the pool, so the second open is the same server session as the first.
        var database = new PostgresPkiDatabase(new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 1 }.ConnectionString);
        await using (var setup = Context(database))
        {
            await database.MigrateAsync(setup, CancellationToken.None);
        }
        int firstSession;
        await using (var first = Context(database))
        {
            Assert.True(new NpgsqlConnectionStringBuilder(first.Database.GetConnectionString()).NoResetOnClose);
            await first.Database.OpenConnectionAsync();
            firstSession = await first.Database.SqlQueryRaw<int>("SELECT pg_backend_pid() AS \"Value\"").SingleAsync();
            var transaction = await first.Database.BeginTransactionAsync(); // takes the writer lock (advisory, transaction-scoped)
            first.CrlNumbers.Add(new PkiService.Persistence.Entities.CrlNumberRecord { IssuerFingerprint = "BB", LastNumber = 3, UpdatedAt = DateTime.UtcNow });
            await first.SaveChangesAsync();
            // Neither committed nor rolled back: the context and its connection go back to the pool as they are.
            GC.KeepAlive(transaction);
        }

        await using var second = Context(database);
        await second.Database.OpenConnectionAsync();
        Assert.Equal(firstSession, await second.Database.SqlQueryRaw<int>("SELECT pg_backend_pid() AS \"Value\"").SingleAsync());
        Assert.Null(await second.Database.SqlQueryRaw<long?>("SELECT txid_current_if_assigned() AS \"Value\"").SingleAsync());
        Assert.False(await second.CrlNumbers.AnyAsync(n => n.IssuerFingerprint == "BB"));
        // The writer lock the abandoned transaction held is free: another session takes it at once. (Not the same session:
        // an advisory lock is re-entrant within its session, so that would prove nothing.)
        await using var other = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await other.OpenAsync();
        await using var otherTransaction = await other.BeginTransactionAsync();
        await using var take = new NpgsqlCommand($"SELECT pg_try_advisory_xact_lock({PostgresDatabase.WriterLockKey})", other, otherTransaction);
        Assert.Equal(true, await take.ExecuteScalarAsync());
        await otherTransaction.CommitAsync();
    }

    [SkippableFact]
    public async Task Classify_RefusedConnection_IsUnavailable()
    {
        var database = new PostgresPkiDatabase("Host=127.0.0.1;Port=1;Database=pki;Username=pki;Timeout=3");
        await using var db = Context(database);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => db.CrlNumbers.CountAsync());

        Assert.Equal(DatabaseFailureKind.Unavailable, database.Classify(error)?.Kind);
        Assert.Null(database.Classify(new InvalidOperationException("not from the database")));
    }

    /// <summary>
    /// Readiness must fail where writes fail: a session that may only read (as on a standby) fails the write probe,
    /// and the failure is classified as read-only.
    /// </summary>
    [SkippableFact]
    public async Task ProbeWrite_ReadOnlySession_FailsAsReadOnly()
    {
        var connectionString = await PostgresCluster.Shared.EnsureDatabaseAsync("pki_read_only_" + Guid.NewGuid().ToString("N")[..8]);
        var database = new PostgresPkiDatabase(connectionString);
        await using (var setup = Context(database))
        {
            await database.MigrateAsync(setup, CancellationToken.None);
            await database.ProbeWriteAsync(setup, CancellationToken.None);
        }
        var readOnly = new PostgresPkiDatabase(new NpgsqlConnectionStringBuilder(connectionString) { Options = "-c default_transaction_read_only=on" }.ConnectionString);
        await using var db = Context(readOnly);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => readOnly.ProbeWriteAsync(db, CancellationToken.None));

        Assert.Equal(DatabaseFailureKind.ReadOnly, readOnly.Classify(error)?.Kind);
    }

    private static PkiDbContext Context(IPkiDatabase database)
    {
        var options = new DbContextOptionsBuilder<PkiDbContext>();
        database.Configure(options);
        return new PkiDbContext(options.Options);
    }

    private static async Task<long> CountAsync(PkiApiFactory factory, string sql)
    {
        var connectionString = factory.Database.Settings(factory.DataDirectory)["ConnectionStrings:Pki"];
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

}
