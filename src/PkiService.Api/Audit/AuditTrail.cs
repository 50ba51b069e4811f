using System.Security.Claims;
using Microsoft.EntityFrameworkCore;
using PkiService.Api.Infrastructure;
using PkiService.Core.Audit;
using PkiService.Persistence;
using PkiService.Persistence.Entities;
using PkiService.Api.Authentication;

namespace PkiService.Api.Audit;

/// <summary>What happened, by whom, to what.</summary>
/// <param name="Actor">Who: an API key, an enrollment token, a certificate, the system or anonymous.</param>
/// <param name="Action">What, such as <c>certificate.issue</c>.</param>
/// <param name="Target">What it was done to (a serial, a key id), if anything.</param>
/// <param name="Success">Whether it succeeded.</param>
/// <param name="Details">Free text for the reader of the trail; never secrets.</param>
/// <param name="ClientIp">The client's address; when null, the current request's (if any).</param>
public sealed record AuditEntry(string Actor, string Action, string? Target, bool Success, string? Details = null, string? ClientIp = null);

/// <summary>
/// Appends security events to the hash-chained audit table. Inside a caller's transaction the row joins it (so
/// the event commits, or not, with the change it records); otherwise the append runs in its own transaction.
/// Either way the write lock is held while the previous hash is read, so the chain never forks. Each row carries,
/// besides its chain hash, a MAC of that hash under the audit key (<see cref="IAuditMacKey"/>), which the database
/// does not hold: whoever can write the database can recompute the hashes but not the MACs.
/// </summary>
public sealed class AuditTrail(PkiDbContext db, TimeProvider time, IHttpContextAccessor http, IAuditMacKey macKey)
{
    public const string System = "system";

    private AuditEventRecord? _lastAdded;
    public const string Anonymous = "anonymous";

    /// <summary>The actor for the current request's API key, or <see cref="Anonymous"/>.</summary>
    public string CurrentApiKeyActor =>
        http.HttpContext?.User.FindFirstValue(PkiClaims.KeyId) is { } id ? ApiKeyActor(id) : Anonymous;

    /// <summary>The current request's client address, for entries appended after the request's scope (group commit).</summary>
    public string? CurrentClientIp => http.HttpContext?.Connection.RemoteIpAddress?.ToString();

    public static string ApiKeyActor(string keyId) => "apikey:" + keyId;

    public static string TokenActor(string tokenId) => "token:" + tokenId;

    public static string CertificateActor(string serial) => "certificate:" + serial;

    /// <summary>Adds the event. In a caller's transaction the caller's SaveChanges/commit persists it.</summary>
    public async Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        if (db.Database.CurrentTransaction is not null)
        {
            await AddRowAsync(entry, cancellationToken);
            return;
        }
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await AddRowAsync(entry, cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private async Task AddRowAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        // A row this trail added that is not yet saved comes after the last saved row (the group-commit writer appends
        // one per enrollment in one transaction). Once saved, or dropped with a rolled-back unit of work, it is not a
        // guide: other requests may have appended since, so the last saved row is read again.
        var pending = _lastAdded is { } added && db.Entry(added).State == EntityState.Added ? added : null;
        var last = pending ?? await db.AuditEvents.AsNoTracking().OrderByDescending(a => a.Id).FirstOrDefaultAsync(cancellationToken);
        var previousHash = last?.Hash ?? AuditChain.Genesis;
        var content = new AuditEntryContent(
            (last?.Id ?? 0) + 1,
            StorableTime(time.GetUtcNow()),
            entry.Actor,
            entry.Action,
            entry.Target,
            entry.Success ? "success" : "failure",
            entry.ClientIp ?? CurrentClientIp,
            entry.Details);
        var hash = AuditChain.Hash(previousHash, content);
        _lastAdded = new AuditEventRecord
        {
            Id = content.Id,
            Time = content.Time.UtcDateTime,
            Actor = content.Actor,
            Action = content.Action,
            Target = content.Target,
            Outcome = content.Outcome,
            ClientIp = content.ClientIp,
            Details = content.Details,
            PreviousHash = previousHash,
            Hash = hash,
            Mac = macKey.ComputeMac(hash),
        };
        db.AuditEvents.Add(_lastAdded);
    }

    /// <summary>
    /// The time as every provider stores it: whole microseconds. PostgreSQL's <c>timestamp with time zone</c> keeps
    /// microseconds, not .NET's 100 ns ticks; the hash covers the time, so it must be computed over the value the row
    /// will read back, or the chain would not verify.
    /// </summary>
    private static DateTimeOffset StorableTime(DateTimeOffset now) => now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond));
}
