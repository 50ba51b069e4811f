using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using PkiService.Persistence;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Features.Expiry;

/// <summary>
/// Records expiry warnings in the outbox. For a certificate inside several thresholds at once only the nearest is
/// recorded as pending; the wider ones are recorded as passed, so it gets one warning, not a burst. The scan reads
/// only candidates: active certificates whose notAfter falls inside the widest threshold and that have no row yet
/// for their nearest threshold (index on Status, NotAfter).
/// </summary>
public sealed partial class ExpiryScanner(
    PkiDbContext db,
    IEnumerable<IExpiryWarningChannel> channels,
    IOptions<ExpiryOptions> options,
    TimeProvider time,
    ILogger<ExpiryScanner> logger)
{
    /// <summary>Scans once; returns the number of pending warnings recorded.</summary>
    public async Task<int> ScanAsync(CancellationToken cancellationToken)
    {
        var active = channels.Where(c => c.IsConfigured).ToList();
        if (active.Count == 0)
        {
            return 0;
        }
        var thresholds = options.Value.Thresholds;
        var now = time.GetUtcNow().UtcDateTime;
        var recorded = 0;

        // One write transaction per scan: two scanners (threads or processes) take turns, and the unique index on
        // (certificate, threshold, channel) is the last line of defence.
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var lower = now;
        for (var band = 0; band < thresholds.Count; band++)
        {
            var (threshold, before) = thresholds[band];
            var upper = now + before;
            foreach (var channel in active)
            {
                var name = channel.Name;
                var candidates = db.Certificates.AsNoTracking()
                    .Where(c => c.Status == CertificateStatus.Active && c.NotAfter > lower && c.NotAfter <= upper)
                    .Where(c => !db.ExpiryNotifications.Any(n => n.CertificateId == c.Id && n.Threshold == threshold && n.Channel == name));
                if (channel.RequiresContactEmail)
                {
                    candidates = candidates.Where(c => c.ContactEmail != null);
                }
                var certificates = await candidates.Select(c => new { c.Id, c.SerialNumber }).ToListAsync(cancellationToken);
                if (certificates.Count == 0)
                {
                    continue;
                }
                // Rows the certificates of this band already have for this channel (wider thresholds warned in earlier
                // scans), read with a subquery: a list of ids as parameters would exceed SQLite's variable limit.
                var bandLower = lower;
                var existing = (await db.ExpiryNotifications.AsNoTracking()
                        .Where(n => n.Channel == name && db.Certificates.Any(c =>
                            c.Id == n.CertificateId && c.Status == CertificateStatus.Active && c.NotAfter > bandLower && c.NotAfter <= upper))
                        .Select(n => new { n.CertificateId, n.Threshold })
                        .ToListAsync(cancellationToken))
                    .Select(n => (n.CertificateId, n.Threshold))
                    .ToHashSet();
                foreach (var certificate in certificates)
                {
                    db.ExpiryNotifications.Add(Row(certificate.Id, certificate.SerialNumber, threshold, name, NotificationStatus.Pending, now));
                    recorded++;
                    // Wider thresholds this certificate is already inside: record them as passed, once.
                    for (var wider = band + 1; wider < thresholds.Count; wider++)
                    {
                        var widerThreshold = thresholds[wider].Text;
                        if (!existing.Contains((certificate.Id, widerThreshold)))
                        {
                            db.ExpiryNotifications.Add(Row(certificate.Id, certificate.SerialNumber, widerThreshold, name, NotificationStatus.Passed, now));
                        }
                    }
                }
            }
            lower = upper;
        }
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (recorded > 0)
        {
            LogRecorded(logger, recorded);
        }
        return recorded;
    }

    private static ExpiryNotificationRecord Row(long certificateId, string serial, string threshold, string channel, NotificationStatus status, DateTime now) => new()
    {
        CertificateId = certificateId,
        SerialNumber = serial,
        Threshold = threshold,
        Channel = channel,
        Status = status,
        DeliveryId = Guid.NewGuid().ToString("N"),
        CreatedAt = now,
        NextAttemptAt = now,
    };

    [LoggerMessage(EventId = 7001, EventName = "ExpiryWarningsRecorded", Level = LogLevel.Information,
        Message = "Recorded {Count} expiry warnings for delivery")]
    private static partial void LogRecorded(ILogger logger, int count);
}
