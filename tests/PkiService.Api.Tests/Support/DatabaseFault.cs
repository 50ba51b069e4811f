using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace PkiService.Api.Tests.Support;

/// <summary>Where an injected database fault strikes.</summary>
public enum DatabaseFaultMode
{
    /// <summary>No fault: every command runs.</summary>
    Off,

    /// <summary>Every writing statement fails before it runs (a read-only file, a full disk).</summary>
    Writes,

    /// <summary>Only INSERTs fail, so the UPDATEs before them in the same transaction have already run (tests the rollback).</summary>
    Inserts,

    /// <summary>Commits fail: explicit ones, and writes outside a transaction (which commit on their own).</summary>
    Commit,
}

/// <summary>
/// An EF Core interceptor, registered only in tests, that makes the service's SQLite database fail while a switch is
/// on: it throws the <see cref="SqliteException"/> SQLite itself would (SQLITE_FULL, SQLITE_READONLY, SQLITE_IOERR).
/// Reads always pass, as they do on a full disk. The readiness probe's write (<c>PRAGMA user_version = n</c>) fails in
/// every mode.
/// </summary>
public sealed class DatabaseFault : IDbCommandInterceptor, IDbTransactionInterceptor
{
    public const int SqliteReadOnly = 8;
    public const int SqliteIoError = 10;
    public const int SqliteFull = 13;

    private volatile DatabaseFaultMode _mode;
    private volatile int _errorCode = SqliteFull;
    private int _injected;

    /// <summary>How many statements or commits have been made to fail.</summary>
    public int Injected => Volatile.Read(ref _injected);

    /// <summary>Turns the fault on until the returned handle is disposed.</summary>
    public IDisposable Start(DatabaseFaultMode mode, int sqliteErrorCode)
    {
        _errorCode = sqliteErrorCode;
        _mode = mode;
        return new Clear(this);
    }

    public InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        ThrowIfFaulted(command);
        return result;
    }

    public ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        ThrowIfFaulted(command);
        return ValueTask.FromResult(result);
    }

    public InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        ThrowIfFaulted(command);
        return result;
    }

    public ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        ThrowIfFaulted(command);
        return ValueTask.FromResult(result);
    }

    public InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result)
    {
        ThrowIfFaulted(command);
        return result;
    }

    public ValueTask<InterceptionResult<object>> ScalarExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default)
    {
        ThrowIfFaulted(command);
        return ValueTask.FromResult(result);
    }

    public InterceptionResult TransactionCommitting(DbTransaction transaction, TransactionEventData eventData, InterceptionResult result)
    {
        ThrowIfCommitFaulted();
        return result;
    }

    public ValueTask<InterceptionResult> TransactionCommittingAsync(
        DbTransaction transaction, TransactionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
    {
        ThrowIfCommitFaulted();
        return ValueTask.FromResult(result);
    }

    private void ThrowIfFaulted(DbCommand command)
    {
        var mode = _mode;
        if (mode == DatabaseFaultMode.Off)
        {
            return;
        }
        var sql = command.CommandText.TrimStart();
        var isProbe = sql.StartsWith("PRAGMA user_version =", StringComparison.OrdinalIgnoreCase);
        var strikes = isProbe || mode switch
        {
            DatabaseFaultMode.Writes => IsWrite(sql),
            DatabaseFaultMode.Inserts => sql.StartsWith("INSERT", StringComparison.OrdinalIgnoreCase),
            DatabaseFaultMode.Commit => command.Transaction is null && IsWrite(sql),
            _ => false,
        };
        if (strikes)
        {
            Fail();
        }
    }

    private void ThrowIfCommitFaulted()
    {
        if (_mode == DatabaseFaultMode.Commit)
        {
            Fail();
        }
    }

    private void Fail()
    {
        Interlocked.Increment(ref _injected);
        var code = _errorCode;
        throw new SqliteException(code switch
        {
            SqliteFull => "SQLite Error 13: 'database or disk is full'.",
            SqliteReadOnly => "SQLite Error 8: 'attempt to write a readonly database'.",
            _ => $"SQLite Error {code}: 'disk I/O error'.",
        }, code);
    }

    private static bool IsWrite(string sql) =>
        sql.StartsWith("INSERT", StringComparison.OrdinalIgnoreCase)
        || sql.StartsWith("UPDATE", StringComparison.OrdinalIgnoreCase)
        || sql.StartsWith("DELETE", StringComparison.OrdinalIgnoreCase)
        || sql.StartsWith("REPLACE", StringComparison.OrdinalIgnoreCase);

    private sealed class Clear(DatabaseFault fault) : IDisposable
    {
        public void Dispose() => fault._mode = DatabaseFaultMode.Off;
    }
}
