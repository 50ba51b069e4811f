using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace PkiService.Persistence;

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

    /// <summary>How long a connection waits for another's write lock before the statement fails as busy.</summary>
    public const int BusyTimeoutMilliseconds = 30_000;

    /// <summary>Configures EF Core for SQLite with migrations from their own assembly.</summary>
    public static DbContextOptionsBuilder UsePkiSqlite(this DbContextOptionsBuilder builder, string connectionString) =>
        builder.UseSqlite(connectionString, sqlite => sqlite.MigrationsAssembly(PkiDbContext.MigrationsAssembly))
            .AddInterceptors(BusyTimeoutInterceptor.Instance);

    /// <summary>
    /// Sets SQLite's own busy timeout on every opened connection. Without it Microsoft.Data.Sqlite meets a held write
    /// lock by sleeping 150 ms between retries, so a writer that arrives just after another waits 150 ms for a lock
    /// held for a few; SQLite's busy handler retries within a millisecond or two.
    /// </summary>
    private sealed class BusyTimeoutInterceptor : DbConnectionInterceptor
    {
        public static readonly BusyTimeoutInterceptor Instance = new();

        private static readonly string Pragma = "PRAGMA busy_timeout = " + BusyTimeoutMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture) + ";";

        public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
        {
            using var command = connection.CreateCommand();
            command.CommandText = Pragma;
            command.ExecuteNonQuery();
        }

        public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = Pragma;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
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
