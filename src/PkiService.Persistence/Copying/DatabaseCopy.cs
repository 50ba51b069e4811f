using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.Extensions.Configuration;
using Npgsql;
using PkiService.Persistence.Entities;
using PkiService.Persistence.Postgres;
using PkiService.Persistence.Sqlite;

namespace PkiService.Persistence.Copying;

/// <summary>
/// Copies one node's SQLite database into an empty PostgreSQL database (the <c>copy-database</c> command, moving up
/// from one node to a cluster): every row of every table, ids and hashes unchanged, plus the rows the caller adds from
/// the data directory (CA keys, facts kept as files), in one transaction on the target, so a failure leaves it empty.
/// The source is only read. Provider specifics stay here; the caller passes configuration and rows.
/// </summary>
public static class DatabaseCopy
{
    /// <summary>Rows written per SaveChanges on the target; the change tracker is cleared after each, bounding memory.</summary>
    private const int BatchSize = 1000;

    /// <summary>
    /// Opens the database of the node configured by <paramref name="configuration"/> (its <c>Database:Provider</c>)
    /// with data directory <paramref name="dataDirectory"/>, without creating, migrating or writing anything. It must be
    /// a SQLite database that exists and has every migration of this version applied.
    /// </summary>
    /// <exception cref="DatabaseCopyException">With <see cref="DatabaseCopyFailure.Source"/>, one line that says what to fix.</exception>
    public static async Task<PkiDbContext> OpenSourceAsync(IConfiguration configuration, string dataDirectory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        IPkiDatabase database;
        try
        {
            database = PkiDatabaseRegistration.Create(configuration[PkiDatabaseRegistration.ProviderKey], dataDirectory,
                configuration[PostgresPkiDatabase.ConnectionStringKey]);
        }
        catch (DatabaseConfigurationException exception)
        {
            throw new DatabaseCopyException(DatabaseCopyFailure.Source, exception.Message, exception);
        }
        if (database.IsShared)
        {
            throw new DatabaseCopyException(DatabaseCopyFailure.Source,
                $"{PkiDatabaseRegistration.ProviderKey} is '{database.ProviderName}': copy-database copies a single node's " +
                $"{SqlitePkiDatabase.Name} database; run it with the old node's configuration ({PkiDatabaseRegistration.ProviderKey} unset or '{SqlitePkiDatabase.Name}').");
        }
        var file = Path.Combine(dataDirectory, SqliteDatabase.FileName);
        if (!File.Exists(file))
        {
            throw new DatabaseCopyException(DatabaseCopyFailure.Source,
                $"There is no database to copy: {file} does not exist; set --Pki:DataDirectory to the old node's data directory.");
        }
        var db = Context(database);
        try
        {
            var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
            if (pending.Count > 0)
            {
                throw new DatabaseCopyException(DatabaseCopyFailure.Source,
                    $"The database {file} lacks {pending.Count.ToString(CultureInfo.InvariantCulture)} schema change(s) of this version " +
                    $"(first: {pending[0]}); start the old node once with this version (it applies them), stop it, then copy again.");
            }
        }
        catch (Exception exception) when (exception is not DatabaseCopyException && database.Classify(exception) is not null)
        {
            await db.DisposeAsync();
            throw new DatabaseCopyException(DatabaseCopyFailure.Source, $"The database {file} cannot be read: {OneLine(exception.Message)}.", exception);
        }
        catch
        {
            await db.DisposeAsync();
            throw;
        }
        return db;
    }

    /// <summary>
    /// Opens the PostgreSQL database <paramref name="connectionString"/> names: checks the string, connects once, and
    /// applies the PostgreSQL migrations (under the migration lock, as a starting node does).
    /// </summary>
    /// <param name="connectionString">The Npgsql connection string.</param>
    /// <param name="setting">How error lines name the connection string (the command's option).</param>
    /// <param name="cancellationToken">Stops the work.</param>
    /// <exception cref="DatabaseCopyException">
    /// <see cref="DatabaseCopyFailure.TargetSetting"/> for an unusable string, <see cref="DatabaseCopyFailure.TargetUnreachable"/>
    /// when the server cannot be reached, refuses the login or refuses the schema.
    /// </exception>
    public static async Task<CopyTarget> OpenTargetAsync(string connectionString, string setting, CancellationToken cancellationToken)
    {
        PostgresPkiDatabase database;
        try
        {
            database = new PostgresPkiDatabase(connectionString, setting);
        }
        catch (DatabaseConfigurationException exception)
        {
            throw new DatabaseCopyException(DatabaseCopyFailure.TargetSetting, exception.Message, exception);
        }
        try
        {
            await database.PrepareStorageAsync(cancellationToken);
        }
        catch (DatabaseConfigurationException exception)
        {
            throw new DatabaseCopyException(DatabaseCopyFailure.TargetUnreachable, exception.Message, exception);
        }
        var db = Context(database);
        try
        {
            await database.MigrateAsync(db, cancellationToken);
        }
        catch (Exception exception) when (database.Classify(exception) is not null)
        {
            await db.DisposeAsync();
            throw new DatabaseCopyException(DatabaseCopyFailure.TargetUnreachable,
                $"{setting}: applying the schema failed: {OneLine(Reason(exception))}; the login needs the right to create tables in that database.", exception);
        }
        return new CopyTarget(db, Describe(connectionString));
    }

    /// <summary>
    /// Copies every row of <paramref name="source"/> (except what is per node or rebuilt: the published CRLs and the
    /// leases, and the source's own CaKeys rows, which <paramref name="additions"/> replace) and
    /// <paramref name="additions"/> into <paramref name="target"/>, which must have no row in any table. One
    /// transaction on the target (holding the writers' lock, so no node writes meanwhile) and a read transaction on the
    /// source (every table from one snapshot; the old node must be stopped, or what it writes later is not copied). Explicit ids are kept, and
    /// each identity sequence is then set past the largest id so that rows the nodes add do not collide.
    /// <paramref name="checkTarget"/> runs last, inside the target's transaction, on the copied rows: it throws to
    /// roll everything back. Returns the rows per table as counted on the target before the commit.
    /// </summary>
    /// <exception cref="DatabaseCopyException"><see cref="DatabaseCopyFailure.TargetNotEmpty"/> when the target has rows; nothing is written.</exception>
    public static async Task<IReadOnlyList<CopiedTable>> CopyAsync(PkiDbContext source, CopyTarget target, DatabaseCopyAdditions additions,
        Func<PkiDbContext, CancellationToken, Task> checkTarget, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(additions);
        ArgumentNullException.ThrowIfNull(checkTarget);
        var db = target.Db;
        db.ChangeTracker.AutoDetectChangesEnabled = false;

        await using var snapshot = await BeginSnapshotAsync(source, cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var occupied = await OccupiedTablesAsync(db, cancellationToken);
        if (occupied.Count > 0)
        {
            throw new DatabaseCopyException(DatabaseCopyFailure.TargetNotEmpty,
                $"The target database {target.Description} is not empty (rows in {string.Join(", ", occupied)}); copy-database copies " +
                "only into an empty database: create a new one (createdb -O <owner> <name>) and name it in --to. No row was written.");
        }

        // Parents before children: ExpiryNotifications refer to Certificates.
        await CopyTableAsync(source.ApiKeys.OrderBy(k => k.Id), db, cancellationToken);
        await CopyTableAsync(source.EnrollmentTokens.OrderBy(t => t.Id), db, cancellationToken);
        await CopyTableAsync(source.Certificates.OrderBy(c => c.Id), db, cancellationToken);
        await CopyTableAsync(source.ExpiryNotifications.OrderBy(n => n.Id), db, cancellationToken);
        // RFC 5280 5.2.3: the CRL number must keep increasing; the nodes continue from each CA's last number.
        await CopyTableAsync(source.CrlNumbers.OrderBy(n => n.IssuerFingerprint), db, cancellationToken);
        // PostgreSQL keeps microseconds: a time finer than that (rows written before the service truncated audit times)
        // keeps its remaining ticks in their own column, so the hashed time, and with it the chain, is unchanged.
        await CopyTableAsync(source.AuditEvents.OrderBy(a => a.Id), db, cancellationToken, row =>
        {
            var below = row.Time.Ticks % TimeSpan.TicksPerMicrosecond;
            row.Time = row.Time.AddTicks(-below);
            row.TimeTicksBelowMicrosecond = checked((byte)(row.TimeTicksBelowMicrosecond + below));
        });
        var state = await source.ServiceState.AsNoTracking().OrderBy(s => s.Key).ToListAsync(cancellationToken);
        state.AddRange(additions.State.Where(added => !state.Any(existing => existing.Key == added.Key)));
        await AddBatchAsync(db, state, cancellationToken);
        await AddBatchAsync(db, additions.CaKeys, cancellationToken);
        await ResetIdentitySequencesAsync(db, cancellationToken);

        await checkTarget(db, cancellationToken);
        var counts = new List<CopiedTable>
        {
            await CountAsync(db.CaKeys, cancellationToken),
            await CountAsync(db.Certificates, cancellationToken),
            await CountAsync(db.EnrollmentTokens, cancellationToken),
            await CountAsync(db.ApiKeys, cancellationToken),
            await CountAsync(db.ExpiryNotifications, cancellationToken),
            await CountAsync(db.CrlNumbers, cancellationToken),
            await CountAsync(db.AuditEvents, cancellationToken),
            await CountAsync(db.ServiceState, cancellationToken),
        };
        await transaction.CommitAsync(cancellationToken);
        return counts;
    }

    /// <summary>
    /// A read transaction on the SQLite source: every table is read from one snapshot (WAL mode), and nothing is locked
    /// against writers, so a copy of a read-only directory works too.
    /// </summary>
    private static async Task<Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction> BeginSnapshotAsync(PkiDbContext source, CancellationToken cancellationToken)
    {
        await source.Database.OpenConnectionAsync(cancellationToken);
        var connection = (Microsoft.Data.Sqlite.SqliteConnection)source.Database.GetDbConnection();
        return await source.Database.UseTransactionAsync(connection.BeginTransaction(deferred: true), cancellationToken)
            ?? throw new InvalidOperationException("The source database did not take the read transaction.");
    }

    private static PkiDbContext Context(IPkiDatabase database)
    {
        var options = new DbContextOptionsBuilder<PkiDbContext>();
        database.Configure(options);
        return new PkiDbContext(options.Options);
    }

    /// <summary>The tables of the model that hold at least one row (a schema without rows is empty).</summary>
    private static async Task<List<string>> OccupiedTablesAsync(PkiDbContext db, CancellationToken cancellationToken)
    {
        var occupied = new List<string>();
        foreach (var table in db.Model.GetEntityTypes().Select(e => e.GetTableName()).OfType<string>().Distinct().Order(StringComparer.Ordinal))
        {
            // The name comes from our own model, never from input.
#pragma warning disable EF1002
            var any = await db.Database.SqlQueryRaw<bool>($"SELECT EXISTS (SELECT 1 FROM \"{table}\") AS \"Value\"").SingleAsync(cancellationToken);
#pragma warning restore EF1002
            if (any)
            {
                occupied.Add(table);
            }
        }
        return occupied;
    }

    private static async Task CopyTableAsync<T>(IQueryable<T> rows, PkiDbContext target, CancellationToken cancellationToken, Action<T>? prepare = null)
        where T : class
    {
        var batch = new List<T>(BatchSize);
        await foreach (var row in rows.AsNoTracking().AsAsyncEnumerable().WithCancellation(cancellationToken))
        {
            prepare?.Invoke(row);
            batch.Add(row);
            if (batch.Count == BatchSize)
            {
                await AddBatchAsync(target, batch, cancellationToken);
                batch.Clear();
            }
        }
        await AddBatchAsync(target, batch, cancellationToken);
    }

    private static async Task AddBatchAsync<T>(PkiDbContext target, IReadOnlyCollection<T> rows, CancellationToken cancellationToken)
        where T : class
    {
        if (rows.Count == 0)
        {
            return;
        }
        target.Set<T>().AddRange(rows);
        await target.SaveChangesAsync(cancellationToken);
        target.ChangeTracker.Clear();
    }

    /// <summary>
    /// The rows were inserted with their ids, which leaves each identity column's sequence where it was: set it so the
    /// next generated id is above the largest copied one (https://www.postgresql.org/docs/current/functions-sequence.html).
    /// </summary>
    private static async Task ResetIdentitySequencesAsync(PkiDbContext db, CancellationToken cancellationToken)
    {
        foreach (var entity in db.Model.GetEntityTypes())
        {
            var table = entity.GetTableName();
            if (table is null)
            {
                continue;
            }
            var store = StoreObjectIdentifier.Table(table, entity.GetSchema());
            foreach (var property in entity.GetProperties().Where(p => p.ValueGenerated == ValueGenerated.OnAdd
                && (p.ClrType == typeof(long) || p.ClrType == typeof(int))))
            {
                var column = property.GetColumnName(store);
                // Table and column names come from our own model, never from input.
#pragma warning disable EF1002
                await db.Database.ExecuteSqlRawAsync(
                    $"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), COALESCE((SELECT MAX(\"{column}\") FROM \"{table}\"), 0) + 1, false)",
                    cancellationToken);
#pragma warning restore EF1002
            }
        }
    }

    private static async Task<CopiedTable> CountAsync<T>(DbSet<T> rows, CancellationToken cancellationToken)
        where T : class =>
        new(rows.EntityType.GetTableName() ?? typeof(T).Name, await rows.LongCountAsync(cancellationToken));

    /// <summary>Where the connection string points, for messages: host, port and database, never the password.</summary>
    private static string Describe(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return $"{builder.Database ?? builder.Username ?? "(default)"} on {builder.Host}:{builder.Port.ToString(CultureInfo.InvariantCulture)}";
    }

    private static string Reason(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            if (current is PostgresException postgres)
            {
                return postgres.MessageText;
            }
        }
        return exception.Message;
    }

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).TrimEnd('.');
}

/// <summary>An opened target database, and how messages name it (database, host and port; no password).</summary>
public sealed class CopyTarget(PkiDbContext db, string description) : IAsyncDisposable
{
    public PkiDbContext Db { get; } = db;

    public string Description { get; } = description;

    public ValueTask DisposeAsync() => Db.DisposeAsync();
}

/// <summary>Rows the copy adds that are not in the source database: CA keys kept as files, facts kept as files.</summary>
/// <param name="CaKeys">The CA and OCSP responder certificates with their encrypted keys (<c>&lt;name&gt;.crt</c>/<c>.key</c>).</param>
/// <param name="State">Facts the data directory kept as files (a source row with the same key wins).</param>
public sealed record DatabaseCopyAdditions(IReadOnlyList<CaKeyRecord> CaKeys, IReadOnlyList<ServiceStateRecord> State);

/// <summary>One table of the target and how many rows it holds after the copy.</summary>
public sealed record CopiedTable(string Table, long Rows);

/// <summary>What stopped a copy.</summary>
public enum DatabaseCopyFailure
{
    /// <summary>The source node's configuration or database is unusable.</summary>
    Source,

    /// <summary>The target's connection string is unusable.</summary>
    TargetSetting,

    /// <summary>The target server cannot be reached, refuses the login, or refuses the schema.</summary>
    TargetUnreachable,

    /// <summary>The target database holds rows already.</summary>
    TargetNotEmpty,
}

/// <summary>A copy stopped before writing anything, with one line that says what to fix.</summary>
public sealed class DatabaseCopyException(DatabaseCopyFailure failure, string message, Exception? inner = null) : Exception(message, inner)
{
    public DatabaseCopyFailure Failure { get; } = failure;
}
