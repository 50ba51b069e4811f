using Microsoft.EntityFrameworkCore;
using PkiService.Persistence.Entities;

namespace PkiService.Persistence;

/// <summary>A lease this node holds: its fencing generation and when it expires by the database's clock.</summary>
/// <param name="Generation">Changes only when another holder takes the lease over (<see cref="LeaseRecord.Generation"/>).</param>
/// <param name="ExpiresAt">When the lease expires, database clock (UTC).</param>
public sealed record LeaseGrant(long Generation, DateTime ExpiresAt);

/// <summary>A lease as read without taking the write lock, for a follower deciding when to try to take it.</summary>
/// <param name="Holder">The holder, or null when no node ever held it.</param>
/// <param name="Remaining">How long until it expires by the database's clock; zero or less when it is free to take.</param>
public sealed record LeaseState(string? Holder, TimeSpan Remaining);

/// <summary>
/// Leases in the <c>Leases</c> table: a job (the CRL builder) that one node runs at a time, with expiry and fail-over.
/// Every decision compares against the database server's clock (SQL <c>CURRENT_TIMESTAMP</c>, PostgreSQL <c>now()</c>),
/// never a node's, so the nodes' clocks need not agree.
/// </summary>
/// <remarks>
/// <para>
/// Acquiring, renewing and releasing run in a write transaction, which holds the one database-wide write lock
/// (<see cref="IPkiDatabase"/>): two nodes never both take an expired lease, and a publisher that checks
/// <see cref="IsHeldAsync"/> inside its own write transaction knows no other node took the lease until it commits
/// (fencing by holder and <see cref="LeaseRecord.Generation"/>).
/// </para>
/// <para>
/// Why the transaction's start time is a safe "now": PostgreSQL's <c>now()</c> is when the transaction began, before it
/// waited for the write lock. A takeover therefore happens no earlier than the expiry, and a renewal's new expiry is
/// at least the duration after the moment the holder started asking, which is where the holder starts its own
/// (shorter or equal) local deadline.
/// </para>
/// </remarks>
public static class DatabaseLeases
{
    /// <summary>Longest holder id the <c>Leases.Holder</c> column keeps.</summary>
    public const int MaxHolderLength = 200;

    /// <summary>
    /// Takes the lease <paramref name="name"/> for <paramref name="holder"/> for <paramref name="duration"/> from the
    /// database's now, or renews it when <paramref name="holder"/> already holds it. Returns null when another holder's
    /// lease has not expired. Taking it over from another holder increments the generation.
    /// </summary>
    public static async Task<LeaseGrant?> TryAcquireAsync(PkiDbContext db, string name, string holder, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(holder);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var now = await DatabaseNowAsync(db, cancellationToken);
        var lease = await db.Leases.FirstOrDefaultAsync(l => l.Name == name, cancellationToken);
        if (lease is null)
        {
            lease = new LeaseRecord { Name = name, Holder = holder, Generation = 1, ExpiresAt = now + duration };
            db.Leases.Add(lease);
        }
        else if (lease.Holder == holder)
        {
            // A renewal (also after a lapse nobody used: the generation still fences everything this holder published).
            lease.ExpiresAt = now + duration;
        }
        else if (lease.ExpiresAt <= now)
        {
            lease.Holder = holder;
            lease.Generation++;
            lease.ExpiresAt = now + duration;
        }
        else
        {
            return null; // held by another node; the transaction rolls back on dispose
        }
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new LeaseGrant(lease.Generation, lease.ExpiresAt);
    }

    /// <summary>
    /// True when <paramref name="holder"/> still holds <paramref name="name"/> at <paramref name="generation"/>. Call it
    /// inside the write transaction that publishes: no other node can take the lease over before that commits.
    /// </summary>
    public static Task<bool> IsHeldAsync(PkiDbContext db, string name, string holder, long generation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        return db.Leases.AsNoTracking().AnyAsync(l => l.Name == name && l.Holder == holder && l.Generation == generation, cancellationToken);
    }

    /// <summary>Reads who holds <paramref name="name"/> and for how long yet, without taking the write lock.</summary>
    public static async Task<LeaseState> ReadAsync(PkiDbContext db, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        var now = await DatabaseNowAsync(db, cancellationToken);
        var lease = await db.Leases.AsNoTracking().Where(l => l.Name == name)
            .Select(l => new { l.Holder, l.ExpiresAt }).FirstOrDefaultAsync(cancellationToken);
        return lease is null ? new LeaseState(null, TimeSpan.Zero) : new LeaseState(lease.Holder, lease.ExpiresAt - now);
    }

    /// <summary>Ends the lease now (a node stopping cleanly), so another node takes it without waiting for the expiry.</summary>
    public static async Task<bool> ReleaseAsync(PkiDbContext db, string name, string holder, long generation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var now = await DatabaseNowAsync(db, cancellationToken);
        var lease = await db.Leases.FirstOrDefaultAsync(l => l.Name == name && l.Holder == holder && l.Generation == generation, cancellationToken);
        if (lease is null)
        {
            return false;
        }
        lease.ExpiresAt = now;
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>The database server's current time (UTC); inside a transaction on PostgreSQL, when the transaction began.</summary>
    private static async Task<DateTime> DatabaseNowAsync(PkiDbContext db, CancellationToken cancellationToken)
    {
        var now = await db.Database.SqlQueryRaw<DateTime>("SELECT CURRENT_TIMESTAMP AS \"Value\"").SingleAsync(cancellationToken);
        return now.Kind == DateTimeKind.Utc ? now : DateTime.SpecifyKind(now, DateTimeKind.Utc);
    }
}
