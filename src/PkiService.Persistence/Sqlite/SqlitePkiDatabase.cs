using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace PkiService.Persistence.Sqlite;

/// <summary>The embedded SQLite database: one file, <see cref="SqliteDatabase.FileName"/>, in the data directory.</summary>
public sealed class SqlitePkiDatabase(string dataDirectory) : IPkiDatabase
{
    /// <summary>The <c>Database:Provider</c> value that selects this provider.</summary>
    public const string Name = "Sqlite";

    private readonly string _connectionString = SqliteDatabase.ConnectionString(dataDirectory);

    public string ProviderName => Name;

    public void Configure(DbContextOptionsBuilder options) => options.UsePkiSqlite(_connectionString);

    public Task PrepareStorageAsync(CancellationToken cancellationToken) => SqliteDatabase.PrepareFileAsync(dataDirectory, cancellationToken);

    public Task MigrateAsync(PkiDbContext db, CancellationToken cancellationToken) => db.Database.MigrateAsync(cancellationToken);

    public async Task ProbeWriteAsync(PkiDbContext db, CancellationToken cancellationToken)
    {
        // Rewriting the header's user_version (unused by EF Core) with its own value commits one page: it fails
        // exactly when a real write would (SQLITE_FULL, SQLITE_READONLY, I/O errors) and changes nothing.
        var version = await db.Database.SqlQueryRaw<long>("SELECT user_version AS \"Value\" FROM pragma_user_version").SingleAsync(cancellationToken);
        var rewrite = "PRAGMA user_version = " + version.ToString(CultureInfo.InvariantCulture);
        await db.Database.ExecuteSqlRawAsync(rewrite, cancellationToken);
    }

    /// <summary>
    /// The <see cref="SqliteException"/> behind <paramref name="exception"/>, by its primary result code
    /// (https://sqlite.org/rescode.html). EF Core wraps it (<c>DbUpdateException</c> from SaveChanges,
    /// <c>InvalidOperationException</c> from some query and transaction paths), so the whole chain is searched.
    /// </summary>
    public DatabaseFailure? Classify(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            if (current is SqliteException sqlite)
            {
                return new DatabaseFailure(Kind(sqlite.SqliteErrorCode & 0xFF), sqlite);
            }
        }
        return null;
    }

    /// <summary>One process owns a SQLite file: there is nobody else to tell.</summary>
    public bool IsShared => false;

    public Task NotifyAsync(PkiDbContext db, string channel, string payload, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Nothing is ever announced by another node: listening is in effect at once and never lost.</summary>
    public async Task ListenAsync(IReadOnlyCollection<string> channels, IDatabaseListener listener, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(listener);
        await listener.ListeningAsync(cancellationToken);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One process owns a SQLite file: no other node to exclude.</summary>
    public T RunExclusive<T>(ClusterLock name, Func<T> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        return action();
    }

    private static DatabaseFailureKind Kind(int primaryResultCode) => primaryResultCode switch
    {
        5 or 6 => DatabaseFailureKind.Transient, // SQLITE_BUSY, SQLITE_LOCKED: the busy timeout ran out
        13 => DatabaseFailureKind.Full, // SQLITE_FULL
        8 => DatabaseFailureKind.ReadOnly, // SQLITE_READONLY
        11 or 26 => DatabaseFailureKind.Corrupt, // SQLITE_CORRUPT, SQLITE_NOTADB
        3 or 10 or 14 or 15 or 22 => DatabaseFailureKind.Unavailable, // SQLITE_PERM, SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_PROTOCOL, SQLITE_NOLFS
        _ => DatabaseFailureKind.Other,
    };
}
