using Microsoft.EntityFrameworkCore;

namespace PkiService.Persistence;

/// <summary>
/// The database provider behind <see cref="PkiDbContext"/>: everything the web host needs that differs between
/// providers (how EF Core is configured, what storage needs before the schema is applied, how the schema is applied,
/// the readiness probe and which exceptions mean the database is failing). The web host calls only this; the provider's
/// own code lives in its folder (<c>Sqlite/</c>, <c>Postgres/</c>). One instance per process, chosen by <c>Database:Provider</c>
/// (<see cref="PkiDatabaseRegistration"/>).
/// <para>
/// What the web host's writers assume of every provider: a transaction holds the one database-wide write lock from
/// <c>BeginTransaction</c> on, so writers never interleave and a value read inside a transaction stays true until it
/// commits. Beginning a transaction is how the web host says "this writes and must be serialized with every other
/// writer". SQLite gives it natively (Microsoft.Data.Sqlite begins with <c>BEGIN IMMEDIATE</c>); PostgreSQL takes a
/// transaction-scoped advisory lock right after BEGIN (<c>Postgres/PostgresDatabase</c>), which serializes the writers
/// of every node sharing the database. The audit chain (the last hash it links to), the group commit of enrollments
/// (the tokens still usable), the expiry scan (one scanner at a time) and the CRL number reservation (read, add,
/// write) rely on it. Reads outside a transaction take no lock.
/// </para>
/// </summary>
public interface IPkiDatabase
{
    /// <summary>The provider's name as <c>Database:Provider</c> spells it.</summary>
    string ProviderName { get; }

    /// <summary>Points EF Core at this database (provider, connection, migrations assembly, connection setup).</summary>
    void Configure(DbContextOptionsBuilder options);

    /// <summary>Readies the storage before the schema is applied (for SQLite: the file, owner-only, in WAL mode).</summary>
    Task PrepareStorageAsync(CancellationToken cancellationToken);

    /// <summary>Applies pending migrations to the database <paramref name="db"/> is connected to.</summary>
    Task MigrateAsync(PkiDbContext db, CancellationToken cancellationToken);

    /// <summary>
    /// Readiness: commits a write that changes nothing, so it throws exactly when a real write would (a full disk, a
    /// read-only database, an I/O error). Cheap enough for every <c>/health/ready</c> call.
    /// </summary>
    Task ProbeWriteAsync(PkiDbContext db, CancellationToken cancellationToken);

    /// <summary>
    /// What the database failure behind <paramref name="exception"/> is (the provider's exception is searched for
    /// through the whole chain: EF Core wraps it), or null when the exception does not come from the database.
    /// </summary>
    DatabaseFailure? Classify(Exception exception);
}

/// <summary>What kind of database failure an exception reports, in terms the web host can act on.</summary>
public enum DatabaseFailureKind
{
    /// <summary>Another writer holds a lock, or the transaction lost a race the database detected; retrying soon may succeed.</summary>
    Transient,

    /// <summary>The database cannot be opened or reached, or an I/O error struck.</summary>
    Unavailable,

    /// <summary>The disk or the database is full.</summary>
    Full,

    /// <summary>The database accepts no writes (a read-only file or mount, a read-only standby).</summary>
    ReadOnly,

    /// <summary>The database file or its structures are damaged.</summary>
    Corrupt,

    /// <summary>Any other error the database reported (a constraint, a misuse); the provider names no finer kind.</summary>
    Other,
}

/// <summary>A database failure found behind an exception.</summary>
/// <param name="Kind">What kind of failure it is.</param>
/// <param name="ProviderError">The provider's own exception (e.g. <c>SqliteException</c>), for logs.</param>
public sealed record DatabaseFailure(DatabaseFailureKind Kind, Exception ProviderError);
