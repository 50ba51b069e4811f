using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

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

    /// <summary>Configures EF Core for SQLite with migrations from their own assembly.</summary>
    public static DbContextOptionsBuilder UsePkiSqlite(this DbContextOptionsBuilder builder, string connectionString) =>
        builder.UseSqlite(connectionString, sqlite => sqlite.MigrationsAssembly(PkiDbContext.MigrationsAssembly));

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
