namespace PkiService.Persistence.Entities;

/// <summary>
/// One security event. Rows form a hash chain: <see cref="Hash"/> = SHA-256(<see cref="PreviousHash"/> ||
/// canonical content), and ids are consecutive, so an altered or deleted row breaks the chain at that point.
/// </summary>
public sealed class AuditEventRecord
{
    /// <summary>Consecutive from 1: assigned by the appender under the write lock, part of the hashed content.</summary>
    public long Id { get; set; }

    /// <summary>When, as stored: PostgreSQL keeps microseconds, so the service truncates audit times to them before hashing.</summary>
    public DateTime Time { get; set; }

    /// <summary>
    /// The 100 ns ticks below the microsecond of the time that was hashed, 0 to 9. Non-zero only on rows that a version
    /// before the truncation wrote with a finer time and that copy-database moved to PostgreSQL, which cannot store them
    /// in <see cref="Time"/>; the hashed time is <see cref="Time"/> plus these ticks, so the row still verifies.
    /// </summary>
    public byte TimeTicksBelowMicrosecond { get; set; }

    /// <summary>Who: <c>apikey:&lt;id&gt;</c>, <c>token:&lt;id&gt;</c>, <c>certificate:&lt;serial&gt;</c>, <c>system</c> or <c>anonymous</c>.</summary>
    public required string Actor { get; set; }

    /// <summary>What, as a dotted verb: <c>certificate.issue</c>, <c>apikey.create</c>, <c>auth.fail</c>...</summary>
    public required string Action { get; set; }

    /// <summary>On what: a serial, token id, key id or CA name.</summary>
    public string? Target { get; set; }

    /// <summary><c>success</c> or <c>failure</c>.</summary>
    public required string Outcome { get; set; }

    public string? ClientIp { get; set; }

    /// <summary>Short free text (never a secret).</summary>
    public string? Details { get; set; }

    public required byte[] PreviousHash { get; set; }

    public required byte[] Hash { get; set; }

    /// <summary>
    /// A keyed MAC over <see cref="Hash"/> under a key the database does not hold, so that whoever can write the
    /// database cannot recompute a forged chain; null on rows written before the MAC was introduced.
    /// </summary>
    public byte[]? Mac { get; set; }
}
