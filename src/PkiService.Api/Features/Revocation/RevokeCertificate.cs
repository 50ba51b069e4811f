using Mediator;
using Microsoft.EntityFrameworkCore;
using PkiService.Api.Features.Certificates;
using PkiService.Api.Infrastructure;
using PkiService.Api.Revocation;
using PkiService.Core.Errors;
using PkiService.Core.Primitives;
using PkiService.Core.Revocation;
using PkiService.Persistence;
using PkiService.Persistence.Entities;
using PkiService.Api.Audit;

namespace PkiService.Api.Features.Revocation;

/// <summary>Body of POST /api/v1/certificates/{serial}/revoke.</summary>
/// <param name="Reason">RFC 5280 5.3.1 reason: unspecified, keyCompromise, caCompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold or privilegeWithdrawn.</param>
/// <param name="InvalidityDate">RFC 5280 5.3.2: when the key is known or suspected to have been compromised (not in the future).</param>
public sealed record RevokeRequest(string? Reason, DateTimeOffset? InvalidityDate);

/// <summary>Revokes one certificate.</summary>
public sealed record RevokeCertificate(string Serial, string? Reason, DateTimeOffset? InvalidityDate) : ICommand<CertificateView>;

/// <summary>
/// Marks the certificate revoked, then before answering reports the change through <see cref="ICertificateStatusChanges"/>,
/// which drops its cached OCSP responses and waits for a CRL that lists it: when this returns, both OCSP and the CRL
/// already say "revoked". The other nodes sharing the database hear of it through an announcement made inside the
/// revoking transaction (<see cref="CertificateStatusAnnouncements"/>): sent if and only if the revocation commits.
/// </summary>
public sealed partial class RevokeCertificateHandler(
    PkiDbContext db,
    AuditTrail audit,
    ICertificateStatusChanges statusChanges,
    CertificateStatusAnnouncements announcements,
    TimeProvider time,
    PkiMetrics metrics,
    ILogger<RevokeCertificateHandler> logger)
    : ICommandHandler<RevokeCertificate, CertificateView>
{
    public async ValueTask<CertificateView> Handle(RevokeCertificate command, CancellationToken cancellationToken)
    {
        string? profile = null;
        try
        {
            var view = await RevokeAsync(command, found => profile = found, cancellationToken);
            metrics.CertificateRevoked(profile, "success");
            return view;
        }
        catch (Exception exception)
        {
            metrics.CertificateRevoked(profile, PkiMetrics.Outcome(exception));
            throw;
        }
    }

    private async Task<CertificateView> RevokeAsync(RevokeCertificate command, Action<string> profileFound, CancellationToken cancellationToken)
    {
        var serial = SerialNumber.Parse(command.Serial);
        var reason = RevocationReasons.Parse(command.Reason ?? "unspecified");
        var now = time.GetUtcNow().UtcDateTime;
        var reasonName = reason.ToName();
        var invalidity = command.InvalidityDate?.UtcDateTime;

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // Conditional update: of two concurrent revocations exactly one changes the row; the other gets 409.
        var changed = await db.Certificates
            .Where(c => c.SerialNumber == serial.Hex && c.Status != CertificateStatus.Revoked)
            .ExecuteUpdateAsync(s => CertificateRevocationRow.SetRevoked(s, now, reason, invalidity), cancellationToken);

        var record = await db.Certificates.AsNoTracking().FirstOrDefaultAsync(c => c.SerialNumber == serial.Hex, cancellationToken)
            ?? throw new NotFoundException($"No certificate with serial number {serial.Hex} was issued by this service.");
        profileFound(record.Profile);
        if (changed == 0)
        {
            throw new ConflictException($"Certificate {serial.Hex} was already revoked at {record.RevokedAt:O} ({record.RevocationReason}).");
        }
        await audit.AppendAsync(new AuditEntry(audit.CurrentApiKeyActor, "certificate.revoke", serial.Hex, Success: true, $"reason {reasonName}, subject {record.Subject}"), cancellationToken);
        await announcements.AnnounceAsync(db, record.IssuerFingerprint, serial, cancellationToken); // delivered at commit, dropped on rollback
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);

        // Not cancellable: once the row is revoked, OCSP and the CRL must follow even if the caller has gone.
        await statusChanges.StatusChangedAsync(record.IssuerFingerprint, serial, CancellationToken.None);
        LogRevoked(logger, serial.Hex, reasonName, record.Subject);
        return CertificateView.From(record, now);
    }

    [LoggerMessage(EventId = 4001, EventName = "CertificateRevoked", Level = LogLevel.Warning,
        Message = "Revoked {SerialNumber} ({Reason}), subject {Subject}")]
    private static partial void LogRevoked(ILogger logger, string serialNumber, string reason, string subject);
}
