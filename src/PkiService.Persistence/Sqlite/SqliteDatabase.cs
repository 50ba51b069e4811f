using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace PkiService.Persistence.Sqlite;

/// <summary>How the embedded SQLite database is opened.</summary>
public static class SqliteDatabase
{
    /// <summary>The database file inside a data directory.</summary>
    public const string FileName = "pki.db";

    /// <summary>Connection string for the database file in <paramref name="dataDirectory"/>.</summary>
    public static string ConnectionString(string dataDirectory) => new SqliteConnectionStringBuilder
    {
        DataSource = Path.Combine(dataDirectory, FileName),
        Mode = SqliteOpenMode.ReadWriteCreate,
        Cache = SqliteCacheMode.Private,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    /// <summary>The assembly that holds the SQLite migrations.</summary>
    public const string MigrationsAssembly = "PkiService.Migrations.Sqlite";

    /// <summary>How long a connection waits for another's write lock before the statement fails as busy.</summary>
    public const int BusyTimeoutMilliseconds = 30_000;

    /// <summary>Configures EF Core for SQLite with migrations from their own assembly.</summary>
    public static DbContextOptionsBuilder UsePkiSqlite(this DbContextOptionsBuilder builder, string connectionString) =>
        builder.UseSqlite(connectionString, sqlite => sqlite.MigrationsAssembly(MigrationsAssembly))
            .AddInterceptors(BusyTimeoutInterceptor.Instance);

    /// <summary>
    /// Sets SQLite's own busy timeout on every opened connection. Without it Microsoft.Data.Sqlite meets a held write
    /// lock by sleeping 150 ms between retries, so a writer that arrives just after another waits 150 ms for a lock
    /// held for a few; SQLite's busy handler retries within a millisecond or two. A direct call on the native handle,
    /// not a PRAGMA statement: connections are opened for every EF Core operation, and this costs no statement parse.
    /// </summary>
    private sealed class BusyTimeoutInterceptor : DbConnectionInterceptor
    {
        public static readonly BusyTimeoutInterceptor Instance = new();

        public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => SetBusyTimeout(connection);

        public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
        {
            SetBusyTimeout(connection);
            return Task.CompletedTask;
        }

        private static void SetBusyTimeout(DbConnection connection) =>
            SqliteException.ThrowExceptionForRC(
                SQLitePCL.raw.sqlite3_busy_timeout(((SqliteConnection)connection).Handle, BusyTimeoutMilliseconds),
                ((SqliteConnection)connection).Handle);
    }

    /// <summary>
    /// Creates the database file owner-only (0600) before SQLite does, so SQLite's WAL and SHM files, which
    /// copy the database file's mode, are owner-only too; then switches the journal to WAL.
    /// </summary>
    public static async Task PrepareFileAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        var path = Path.Combine(dataDirectory, FileName);
        if (!File.Exists(path) && !OperatingSystem.IsWindows())
        {
            using var _ = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }
        await using var connection = new SqliteConnection(ConnectionString(dataDirectory));
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        // WAL lets readers (certificate listings, OCSP look-ups) run while a writer commits.
        command.CommandText = "PRAGMA journal_mode=WAL;";
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
