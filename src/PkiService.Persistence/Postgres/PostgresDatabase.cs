using System.Data.Common;
using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace PkiService.Persistence.Postgres;

/// <summary>How a PostgreSQL database is opened, and the advisory locks the nodes sharing it agree on.</summary>
public static class PostgresDatabase
{
    /// <summary>The assembly that holds the PostgreSQL migrations.</summary>
    public const string MigrationsAssembly = "PkiService.Migrations.Postgres";

    /// <summary>
    /// The advisory lock key every write transaction takes (transaction-scoped) right after BEGIN: the PostgreSQL
    /// equivalent of SQLite's one database-wide write lock, across every node on the database. Advisory lock keys
    /// are per database, so other applications' databases on the same server are not affected.
    /// </summary>
    public const long WriterLockKey = 0x504B_4953_0001; // "PKIS" 1

    /// <summary>The advisory lock key held (session-scoped) while the schema is migrated, so N nodes apply it once.</summary>
    public const long MigrationLockKey = 0x504B_4953_0002; // "PKIS" 2

    /// <summary>
    /// The advisory lock key held (session-scoped) around loading or creating the CA hierarchy and the OCSP responder
    /// certificates (<see cref="ClusterLock.CaKeys"/>), so N nodes starting on an empty database create one root and one
    /// issuing CA, and nodes finding a responder due renew it once.
    /// </summary>
    public const long CaKeysLockKey = 0x504B_4953_0003; // "PKIS" 3

    /// <summary>The advisory lock key of a <see cref="ClusterLock"/>.</summary>
    public static long LockKey(ClusterLock name) => name switch
    {
        ClusterLock.CaKeys => CaKeysLockKey,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "No advisory lock key is assigned to this lock."),
    };

    /// <summary>Configures EF Core for PostgreSQL with migrations from their own assembly and serialized writers.</summary>
    public static DbContextOptionsBuilder UsePkiPostgres(this DbContextOptionsBuilder builder, string connectionString) =>
        builder.UseNpgsql(connectionString, npgsql => npgsql.MigrationsAssembly(MigrationsAssembly))
            .AddInterceptors(WriterLockInterceptor.Instance);

    /// <summary>
    /// Takes <see cref="WriterLockKey"/> in every transaction EF Core begins, before its first statement. The web
    /// host's writers rely on a transaction holding the one write lock from BeginTransaction on (see
    /// <see cref="IPkiDatabase"/>): the audit chain reads its last row then appends, the group commit reads the usable
    /// tokens then consumes them, the CRL number reservation reads, adds and writes, the expiry scan records each
    /// warning once. Under READ COMMITTED every statement after the lock sees all that earlier lock holders
    /// committed, so those reads stay true until this transaction commits or rolls back (which releases the lock).
    /// Queries outside a transaction (OCSP look-ups, listings) take no lock and run concurrently.
    /// </summary>
    private sealed class WriterLockInterceptor : DbTransactionInterceptor
    {
        public static readonly WriterLockInterceptor Instance = new();

        private static readonly string LockStatement =
            "SELECT pg_advisory_xact_lock(" + WriterLockKey.ToString(CultureInfo.InvariantCulture) + ")";

        public override DbTransaction TransactionStarted(DbConnection connection, TransactionEndEventData eventData, DbTransaction result)
        {
            using var command = LockCommand(connection, result);
            command.ExecuteNonQuery();
            return result;
        }

        public override async ValueTask<DbTransaction> TransactionStartedAsync(DbConnection connection, TransactionEndEventData eventData,
            DbTransaction result, CancellationToken cancellationToken = default)
        {
            await using var command = LockCommand(connection, result);
            await command.ExecuteNonQueryAsync(cancellationToken);
            return result;
        }

        private static DbCommand LockCommand(DbConnection connection, DbTransaction transaction)
        {
            var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = LockStatement;
            return command;
        }
    }
}
