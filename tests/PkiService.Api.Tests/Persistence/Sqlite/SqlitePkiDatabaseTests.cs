using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using PkiService.Api.Tests.Support;
using PkiService.Persistence;
using PkiService.Persistence.Entities;
using PkiService.Persistence.Sqlite;

namespace PkiService.Api.Tests.Persistence.Sqlite;

/// <summary>
/// The SQLite provider behind the database seam (<see cref="IPkiDatabase"/>), on real SQLite files: the errors SQLite
/// itself raises are classified into the provider-neutral kinds the web host acts on, wherever EF Core wraps them.
/// </summary>
public sealed class SqlitePkiDatabaseTests
{
    private readonly string _directory = TempDirectory.Create();

    [Fact]
    public async Task Classify_WriteToReadOnlyFile_IsReadOnly()
    {
        await PrepareAsync();
        await using var connection = Open(SqliteOpenMode.ReadOnly);

        var error = await CaptureAsync(connection, "CREATE TABLE probe (x INTEGER);");

        AssertKind(DatabaseFailureKind.ReadOnly, error);
    }

    [Fact]
    public async Task Classify_PageLimitReached_IsFull()
    {
        await PrepareAsync();
        await using var connection = Open(SqliteOpenMode.ReadWrite);
        await ExecuteAsync(connection, "CREATE TABLE filler (x BLOB);");
        // The database cannot grow past its current size: the next page it needs fails as SQLITE_FULL, as on a full disk.
        await ExecuteAsync(connection, "PRAGMA max_page_count = " + await PageCountAsync(connection) + ";");

        var error = await CaptureAsync(connection, "INSERT INTO filler VALUES (zeroblob(100000));");

        AssertKind(DatabaseFailureKind.Full, error);
    }

    [Fact]
    public async Task Classify_WriteLockHeldByAnother_IsTransient()
    {
        await PrepareAsync();
        await using var holder = Open(SqliteOpenMode.ReadWrite);
        await ExecuteAsync(holder, "BEGIN IMMEDIATE;");
        await using var waiter = Open(SqliteOpenMode.ReadWrite);

        var error = await CaptureAsync(waiter, "BEGIN IMMEDIATE;", timeoutSeconds: 1);

        AssertKind(DatabaseFailureKind.Transient, error);
    }

    [Fact]
    public async Task Classify_FileIsNotADatabase_IsCorrupt()
    {
        await File.WriteAllTextAsync(Path.Combine(_directory, SqliteDatabase.FileName), new string('x', 8192));
        await using var connection = Open(SqliteOpenMode.ReadWrite);

        var error = await CaptureAsync(connection, "SELECT count(*) FROM sqlite_master;");

        AssertKind(DatabaseFailureKind.Corrupt, error);
    }

    [Fact]
    public async Task Classify_DirectoryMissing_IsUnavailable()
    {
        var missing = Path.Combine(_directory, "gone");
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(missing, SqliteDatabase.FileName),
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
        }.ToString());

        var error = await Record.ExceptionAsync(() => connection.OpenAsync());

        AssertKind(DatabaseFailureKind.Unavailable, error);
    }

    /// <summary>EF Core wraps SQLite's error in a DbUpdateException; the seam still finds it, and an unnamed code is Other.</summary>
    [Fact]
    public async Task Classify_ConstraintViolationWrappedByEfCore_IsOther()
    {
        var database = await PrepareAsync();
        var options = new DbContextOptionsBuilder<PkiDbContext>();
        database.Configure(options);
        await using var db = new PkiDbContext(options.Options);
        db.CrlNumbers.Add(new CrlNumberRecord { IssuerFingerprint = "AA", UpdatedAt = DateTime.UtcNow });
        await db.SaveChangesAsync();
        db.ChangeTracker.Clear();
        db.CrlNumbers.Add(new CrlNumberRecord { IssuerFingerprint = "AA", UpdatedAt = DateTime.UtcNow });

        var error = await Record.ExceptionAsync(() => db.SaveChangesAsync());

        Assert.IsType<DbUpdateException>(error);
        AssertKind(DatabaseFailureKind.Other, error);
    }

    [Fact]
    public void Classify_NotADatabaseError_IsNull()
    {
        var database = new SqlitePkiDatabase(_directory);

        Assert.Null(database.Classify(new InvalidOperationException("not from the database", new ArgumentException("nor this"))));
    }

    /// <summary>The readiness probe commits on a healthy file and fails, classified, on a read-only one.</summary>
    [Fact]
    public async Task ProbeWrite_WritableThenReadOnlyFile_PassesThenFailsAsReadOnly()
    {
        var database = await PrepareAsync();
        var writable = new DbContextOptionsBuilder<PkiDbContext>();
        database.Configure(writable);
        await using (var db = new PkiDbContext(writable.Options))
        {
            await database.ProbeWriteAsync(db, CancellationToken.None);
        }
        var readOnly = new DbContextOptionsBuilder<PkiDbContext>().UsePkiSqlite(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(_directory, SqliteDatabase.FileName),
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        await using var readOnlyDb = new PkiDbContext((DbContextOptions<PkiDbContext>)readOnly.Options);

        var error = await Record.ExceptionAsync(() => database.ProbeWriteAsync(readOnlyDb, CancellationToken.None));

        AssertKind(DatabaseFailureKind.ReadOnly, error);
    }

    /// <summary>
    /// The contract the web host's writers rely on (see <see cref="IPkiDatabase"/>): a transaction holds the database's
    /// write lock from BeginTransaction on, before its first statement (Microsoft.Data.Sqlite's BEGIN IMMEDIATE), so a
    /// read inside it (the audit chain's last hash, the usable tokens, the last CRL number) cannot be raced.
    /// </summary>
    [Fact]
    public async Task BeginTransaction_HoldsTheWriteLockBeforeAnyStatement()
    {
        var database = await PrepareAsync();
        var options = new DbContextOptionsBuilder<PkiDbContext>();
        database.Configure(options);
        await using var db = new PkiDbContext(options.Options);
        await using var transaction = await db.Database.BeginTransactionAsync();
        await using var other = Open(SqliteOpenMode.ReadWrite);

        var error = await CaptureAsync(other, "BEGIN IMMEDIATE;", timeoutSeconds: 1);

        AssertKind(DatabaseFailureKind.Transient, error);
    }

    private async Task<SqlitePkiDatabase> PrepareAsync()
    {
        var database = new SqlitePkiDatabase(_directory);
        await database.PrepareStorageAsync(CancellationToken.None);
        var options = new DbContextOptionsBuilder<PkiDbContext>();
        database.Configure(options);
        await using var db = new PkiDbContext(options.Options);
        await database.MigrateAsync(db, CancellationToken.None);
        return database;
    }

    private SqliteConnection Open(SqliteOpenMode mode)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(_directory, SqliteDatabase.FileName),
            Mode = mode,
            Pooling = false,
        }.ToString());
        connection.Open();
        return connection;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> PageCountAsync(SqliteConnection connection)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA page_count;";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<Exception?> CaptureAsync(SqliteConnection connection, string sql, int timeoutSeconds = 30)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.CommandTimeout = timeoutSeconds;
        return await Record.ExceptionAsync(() => command.ExecuteNonQueryAsync());
    }

    private void AssertKind(DatabaseFailureKind expected, Exception? error)
    {
        Assert.NotNull(error);
        var failure = new SqlitePkiDatabase(_directory).Classify(error);
        Assert.NotNull(failure);
        Assert.Equal(expected, failure.Kind);
        Assert.IsType<SqliteException>(failure.ProviderError);
    }
}
