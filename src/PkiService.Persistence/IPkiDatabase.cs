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

    /// <summary>
    /// True when other nodes may share this database (PostgreSQL): the CA keys, published CRLs and leases then live in
    /// the database, and changes are announced with <see cref="NotifyAsync"/>. False for SQLite (one process).
    /// </summary>
    bool IsShared { get; }

    /// <summary>
    /// Announces <paramref name="payload"/> on <paramref name="channel"/> to every node listening (this one included).
    /// Inside a transaction the announcement is sent when it commits and dropped when it rolls back (PostgreSQL
    /// NOTIFY semantics), so a node never hears of a change that did not happen. A no-op when not <see cref="IsShared"/>.
    /// Payloads are short ASCII (PostgreSQL refuses more than 8000 bytes).
    /// </summary>
    Task NotifyAsync(PkiDbContext db, string channel, string payload, CancellationToken cancellationToken);

    /// <summary>
    /// Listens on <paramref name="channels"/> over a connection of its own until <paramref name="cancellationToken"/>
    /// is cancelled, reconnecting after the connection is lost. Calls <see cref="IDatabaseListener.ListeningAsync"/>
    /// each time LISTEN is in effect (first and after every reconnect), <see cref="IDatabaseListener.Lost"/> as soon as
    /// the connection is found lost (announcements may be missed from then until the next ListeningAsync), and
    /// <see cref="IDatabaseListener.NotifiedAsync"/> for each announcement, in order. When not <see cref="IsShared"/>:
    /// ListeningAsync once, then nothing until cancelled.
    /// </summary>
    Task ListenAsync(IReadOnlyCollection<string> channels, IDatabaseListener listener, CancellationToken cancellationToken);

    /// <summary>
    /// Runs <paramref name="action"/> while holding the cluster-wide lock <paramref name="name"/>, waiting for any other
    /// node that holds it, and releases it when the action returns or throws. For work that must happen once across
    /// the nodes but is more than one transaction (create the CA hierarchy if no node has yet): the action reads, and
    /// writes only what is still missing. PostgreSQL: a session-level advisory lock on a connection of its own, so the
    /// action's own transactions are free to take the writer lock. When not <see cref="IsShared"/> there is nobody to
    /// exclude: the action just runs.
    /// </summary>
    T RunExclusive<T>(ClusterLock name, Func<T> action);
}

/// <summary>The cluster-wide locks of <see cref="IPkiDatabase.RunExclusive"/>.</summary>
public enum ClusterLock
{
    /// <summary>Loading or creating the CA certificates, their keys and the OCSP responder certificates.</summary>
    CaKeys,
}

/// <summary>What <see cref="IPkiDatabase.ListenAsync"/> tells its listener.</summary>
public interface IDatabaseListener
{
    /// <summary>LISTEN is in effect; anything announced while it was not may have been missed, so catch up from the database.</summary>
    Task ListeningAsync(CancellationToken cancellationToken);

    /// <summary>The listening connection is lost: until the next <see cref="ListeningAsync"/>, announcements may be missed.</summary>
    void Lost();

    /// <summary>One announcement made with <see cref="IPkiDatabase.NotifyAsync"/>.</summary>
    Task NotifiedAsync(string channel, string payload, CancellationToken cancellationToken);
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
