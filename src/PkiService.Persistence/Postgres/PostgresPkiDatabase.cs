using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace PkiService.Persistence.Postgres;

/// <summary>
/// A PostgreSQL database named by <c>ConnectionStrings:Pki</c>, which one node or several nodes may share. The
/// database must exist; the schema is applied by the first node to start (under <see cref="PostgresDatabase.MigrationLockKey"/>).
/// </summary>
public sealed class PostgresPkiDatabase : IPkiDatabase
{
    /// <summary>The <c>Database:Provider</c> value that selects this provider.</summary>
    public const string Name = "Postgres";

    /// <summary>The setting that holds the Npgsql connection string.</summary>
    public const string ConnectionStringKey = "ConnectionStrings:Pki";

    /// <summary>How long <see cref="RunExclusive"/> waits for a lock another node holds before it gives up.</summary>
    private const int ExclusiveWaitSeconds = 300;

    private readonly string _connectionString;
    private readonly string _where;
    private readonly string _setting;

    /// <summary>Checks the connection string's form; <see cref="DatabaseConfigurationException"/> names the setting when it is unusable.</summary>
    /// <param name="connectionString">The Npgsql connection string.</param>
    /// <param name="setting">Where the connection string came from, as error lines name it (<c>--to</c> for <c>copy-database</c>).</param>
    public PostgresPkiDatabase(string? connectionString, string setting = ConnectionStringKey)
    {
        _setting = setting;
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new DatabaseConfigurationException(
                $"{setting} is not set; with {PkiDatabaseRegistration.ProviderKey}={Name} it must be an Npgsql connection string " +
                "such as 'Host=db.example.org;Database=pki;Username=pki;Password=...'.");
        }
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception exception) when (exception is ArgumentException or FormatException or InvalidCastException)
        {
            // The parser's message names the keyword, never the password's value.
            throw new DatabaseConfigurationException(
                $"{setting} is not a valid Npgsql connection string ({OneLine(exception.Message)}); " +
                "use 'Host=...;Database=...;Username=...;Password=...'.");
        }
        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            throw new DatabaseConfigurationException($"{setting} names no Host; add 'Host=<server>' to it.");
        }
        if (builder.MaxAutoPrepare == 0)
        {
            // The service repeats a few dozen statements (token look-up, the group commit's reads and writes, OCSP
            // status reads): server-side prepared statements spare PostgreSQL parsing and planning them on every call,
            // CPU the server shares with the node on small machines. Kept unless the connection string sets its own.
            // https://www.npgsql.org/doc/prepare.html#automatic-preparation
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
        }
        if (!Names(connectionString, "No Reset On Close", "NoResetOnClose"))
        {
            // A pooled connection is reset when it goes back to the pool (Npgsql sends seven statements: RESET ALL,
            // UNLISTEN *, advisory unlock, ... with the next use), which PostgreSQL executes for every request that
            // looked something up. The service keeps no session state on pooled connections: session advisory locks
            // and LISTEN live on connections of their own, not pooled (below); an open transaction is rolled back on
            // return whatever this says. Measured in docs/benchmarks.md. Kept when the connection string sets its own.
            // https://www.npgsql.org/doc/connection-string-parameters.html#performance
            builder.NoResetOnClose = true;
        }
        _connectionString = builder.ConnectionString;
        _where = $"host {builder.Host} port {builder.Port.ToString(CultureInfo.InvariantCulture)} database {builder.Database ?? builder.Username ?? "(default)"}";
    }

    /// <summary>Whether the connection string, as written, sets one of these keywords (any case, any value).</summary>
    private static bool Names(string connectionString, params string[] keywords)
    {
        var written = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        return keywords.Any(written.ContainsKey);
    }

    public string ProviderName => Name;

    public void Configure(DbContextOptionsBuilder options) => options.UsePkiPostgres(_connectionString);

    /// <summary>
    /// Connects once, so an unreachable server, a wrong password or a missing database stops the start with one line
    /// naming <see cref="ConnectionStringKey"/> instead of failing inside the first migration.
    /// </summary>
    public async Task PrepareStorageAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(_connectionString);
            await connection.OpenAsync(cancellationToken);
        }
        catch (NpgsqlException exception)
        {
            var reason = exception is PostgresException postgres ? postgres.MessageText : exception.Message;
            throw new DatabaseConfigurationException(
                $"{_setting}: cannot connect to PostgreSQL at {_where}: {OneLine(reason)}; check the connection string and that the server is running.");
        }
    }

    /// <summary>
    /// Applies pending migrations while holding a session-level advisory lock on a connection of its own: nodes that
    /// start at once on an empty database wait for the first to apply the schema, then find nothing to apply.
    /// </summary>
    public async Task MigrateAsync(PkiDbContext db, CancellationToken cancellationToken)
    {
        // Not pooled: the lock belongs to this session and ends with it, whatever happens below.
        var lockConnectionString = new NpgsqlConnectionStringBuilder(_connectionString) { Pooling = false }.ConnectionString;
        await using var connection = new NpgsqlConnection(lockConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({PostgresDatabase.MigrationLockKey.ToString(CultureInfo.InvariantCulture)})", connection))
        {
            await take.ExecuteNonQueryAsync(cancellationToken);
        }
        try
        {
            await db.Database.MigrateAsync(cancellationToken);
        }
        finally
        {
            await using var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({PostgresDatabase.MigrationLockKey.ToString(CultureInfo.InvariantCulture)})", connection);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// An UPDATE that matches no row, then a transaction id assigned and committed. PostgreSQL refuses the UPDATE
    /// before it runs in a read-only transaction or on a standby (25006), and the commit writes a commit record to the
    /// WAL, which fails on a full disk; no row changes. A SELECT alone would succeed in all those cases.
    /// </summary>
    public async Task ProbeWriteAsync(PkiDbContext db, CancellationToken cancellationToken) =>
        await db.Database.ExecuteSqlRawAsync(
            "UPDATE \"CrlNumbers\" SET \"LastNumber\" = \"LastNumber\" WHERE false; SELECT pg_current_xact_id();", cancellationToken);

    /// <summary>
    /// The <see cref="NpgsqlException"/> behind <paramref name="exception"/>: a <see cref="PostgresException"/> by its
    /// SQLSTATE (https://www.postgresql.org/docs/current/errcodes-appendix.html), any other (a refused or broken
    /// connection, a timeout, an exhausted pool) as the database being unavailable.
    /// </summary>
    public DatabaseFailure? Classify(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            if (current is PostgresException postgres)
            {
                return new DatabaseFailure(Kind(postgres.SqlState), postgres);
            }
            if (current is NpgsqlException npgsql)
            {
                return new DatabaseFailure(DatabaseFailureKind.Unavailable, npgsql);
            }
        }
        return null;
    }

    /// <summary>Several nodes may share a PostgreSQL database.</summary>
    public bool IsShared => true;

    /// <summary>
    /// <c>pg_notify</c> on the context's connection: inside a transaction PostgreSQL delivers it at commit and drops it on
    /// rollback (https://www.postgresql.org/docs/current/sql-notify.html).
    /// </summary>
    public async Task NotifyAsync(PkiDbContext db, string channel, string payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentNullException.ThrowIfNull(payload);
        await db.Database.ExecuteSqlAsync($"SELECT pg_notify({channel}, {payload})", cancellationToken);
    }

    /// <summary>Where <see cref="ListenAsync"/> logs losing and regaining its connection; nothing is logged when unset.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>
    /// LISTEN on a connection of its own, not pooled, named '&lt;Application Name&gt; listener' in <c>pg_stat_activity</c>;
    /// a lost connection is found within seconds (a ping when idle) and re-established with backoff
    /// (<see cref="PostgresNotificationListener"/>).
    /// </summary>
    public Task ListenAsync(IReadOnlyCollection<string> channels, IDatabaseListener listener, CancellationToken cancellationToken) =>
        new PostgresNotificationListener(_connectionString, _where, Logger).RunAsync(channels, listener, cancellationToken);

    /// <summary>
    /// Holds the lock's session-level advisory lock (<see cref="PostgresDatabase.LockKey"/>) on a connection of its own
    /// while <paramref name="action"/> runs. Not pooled: the lock belongs to the session and ends with it, so a node that
    /// dies holding it (or whose connection is cut) releases it at once.
    /// </summary>
    public T RunExclusive<T>(ClusterLock name, Func<T> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var key = PostgresDatabase.LockKey(name).ToString(CultureInfo.InvariantCulture);
        using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_connectionString) { Pooling = false }.ConnectionString);
        connection.Open();
        // Another node may hold the lock while it creates RSA keys and runs PBKDF2: wait longer than one statement's default.
        using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({key})", connection) { CommandTimeout = ExclusiveWaitSeconds })
        {
            take.ExecuteNonQuery();
        }
        try
        {
            return action();
        }
        finally
        {
            try
            {
                using var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({key})", connection);
                release.ExecuteNonQuery();
            }
            catch (NpgsqlException)
            {
                // The connection is gone, and the session's locks with it: nothing is left to release.
            }
        }
    }

    private static DatabaseFailureKind Kind(string sqlState) => sqlState switch
    {
        "40001" or "40P01" or "55P03" or "53300" => DatabaseFailureKind.Transient, // serialization failure, deadlock, lock not available, too many connections
        "53100" => DatabaseFailureKind.Full, // disk_full
        "25006" => DatabaseFailureKind.ReadOnly, // read_only_sql_transaction (a standby, default_transaction_read_only)
        "XX001" or "XX002" => DatabaseFailureKind.Corrupt, // data_corrupted, index_corrupted
        "57P01" or "57P02" or "57P03" or "3D000" or "28000" or "28P01" => DatabaseFailureKind.Unavailable, // shutdown, cannot connect now, no database, refused login
        _ when sqlState.StartsWith("08", StringComparison.Ordinal) || sqlState.StartsWith("58", StringComparison.Ordinal) => DatabaseFailureKind.Unavailable, // connection exceptions, system (I/O) errors
        _ => DatabaseFailureKind.Other,
    };

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).TrimEnd('.');
}
