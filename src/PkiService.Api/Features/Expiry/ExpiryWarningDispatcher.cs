using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using PkiService.Api.Infrastructure;
using PkiService.Persistence;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Features.Expiry;

/// <summary>
/// Delivers due warnings from the outbox. Each row is claimed with a conditional update before it is sent, so two
/// dispatchers never send the same row; a success is recorded as sent and never retried; a failure is retried with
/// exponential backoff until <see cref="ExpiryOptions.MaxAttempts"/>, then left visible as failed.
/// </summary>
public sealed partial class ExpiryWarningDispatcher(
    PkiDbContext db,
    IEnumerable<IExpiryWarningChannel> channels,
    IOptions<ExpiryOptions> options,
    TimeProvider time,
    PkiMetrics metrics,
    ILogger<ExpiryWarningDispatcher> logger)
{
    private const int BatchSize = 100;

    /// <summary>Delivers what is due now; returns (sent, failed attempts).</summary>
    public async Task<(int Sent, int Failed)> DeliverDueAsync(CancellationToken cancellationToken)
    {
        var byName = channels.Where(c => c.IsConfigured).ToDictionary(c => c.Name, StringComparer.Ordinal);
        var settings = options.Value;
        var now = time.GetUtcNow().UtcDateTime;
        var due = await db.ExpiryNotifications.AsNoTracking()
            .Where(n => n.Status == NotificationStatus.Pending && n.NextAttemptAt <= now)
            .OrderBy(n => n.NextAttemptAt)
            .Take(BatchSize)
            .ToListAsync(cancellationToken);

        int sent = 0, failed = 0;
        foreach (var row in due)
        {
            if (!byName.TryGetValue(row.Channel, out var channel))
            {
                continue; // channel switched off since the row was recorded: leave it pending
            }
            var leaseUntil = now + settings.DeliveryLeaseDuration;
            var claimed = await db.ExpiryNotifications
                .Where(n => n.Id == row.Id && n.Status == NotificationStatus.Pending && n.NextAttemptAt <= now)
                .ExecuteUpdateAsync(s => s.SetProperty(n => n.NextAttemptAt, leaseUntil).SetProperty(n => n.Attempts, n => n.Attempts + 1), cancellationToken);
            if (claimed != 1)
            {
                continue; // another dispatcher has it
            }
            var attempts = row.Attempts + 1;
            var certificate = await db.Certificates.AsNoTracking().FirstAsync(c => c.Id == row.CertificateId, cancellationToken);
            if (certificate.Status != CertificateStatus.Active)
            {
                // Revoked or superseded since the warning was recorded: nothing left to renew.
                await db.ExpiryNotifications.Where(n => n.Id == row.Id)
                    .ExecuteUpdateAsync(s => s.SetProperty(n => n.Status, NotificationStatus.Passed), CancellationToken.None);
                metrics.ExpiryWarning(row.Channel, "passed");
                continue;
            }
            var warning = new ExpiryWarning(row.DeliveryId, certificate.SerialNumber, certificate.Subject, certificate.SubjectAltNames,
                certificate.Profile, new DateTimeOffset(certificate.NotAfter, TimeSpan.Zero), row.Threshold, certificate.ContactEmail);
            try
            {
                await SendOffTheSocketThreadAsync(channel, warning, cancellationToken);
                var sentAt = time.GetUtcNow().UtcDateTime;
                await db.ExpiryNotifications.Where(n => n.Id == row.Id)
                    .ExecuteUpdateAsync(s => s.SetProperty(n => n.Status, NotificationStatus.Sent).SetProperty(n => n.SentAt, sentAt).SetProperty(n => n.LastError, (string?)null), CancellationToken.None);
                sent++;
                metrics.ExpiryWarning(row.Channel, "sent");
                LogSent(logger, row.Channel, certificate.SerialNumber, row.Threshold, row.DeliveryId, attempts);
            }
            catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
            {
                failed++;
                var error = exception.Message.Length > 500 ? exception.Message[..500] : exception.Message;
                var giveUp = attempts >= settings.MaxAttempts;
                var retryAt = now + settings.RetryBaseDuration * Math.Pow(2, attempts - 1);
                await db.ExpiryNotifications.Where(n => n.Id == row.Id)
                    .ExecuteUpdateAsync(s => s
                        .SetProperty(n => n.Status, giveUp ? NotificationStatus.Failed : NotificationStatus.Pending)
                        .SetProperty(n => n.NextAttemptAt, retryAt)
                        .SetProperty(n => n.LastError, error), CancellationToken.None);
                metrics.ExpiryWarning(row.Channel, giveUp ? "given_up" : "failed");
                LogDeliveryFailed(logger, row.Channel, certificate.SerialNumber, row.Threshold, attempts, giveUp, error);
            }
        }
        return (sent, failed);
    }

    /// <summary>
    /// Sends, then continues on a thread-pool thread whatever happened. With inline socket completions (on SQLite,
    /// <see cref="Infrastructure.SocketCompletions"/>) the end of a webhook or SMTP send can run on the socket event
    /// thread, and what follows here is a database write: it must not hold that thread (every socket of the process
    /// waits on it).
    /// </summary>
    private static async Task SendOffTheSocketThreadAsync(IExpiryWarningChannel channel, ExpiryWarning warning, CancellationToken cancellationToken)
    {
        try
        {
            await channel.SendAsync(warning, cancellationToken);
        }
        finally
        {
            await Task.Yield();
        }
    }

    [LoggerMessage(EventId = 7002, EventName = "ExpiryWarningSent", Level = LogLevel.Information,
        Message = "Sent {Channel} expiry warning for {SerialNumber} (threshold {Threshold}, delivery {DeliveryId}, attempt {Attempts})")]
    private static partial void LogSent(ILogger logger, string channel, string serialNumber, string threshold, string deliveryId, int attempts);

    [LoggerMessage(EventId = 7003, EventName = "ExpiryWarningFailed", Level = LogLevel.Warning,
        Message = "{Channel} expiry warning for {SerialNumber} (threshold {Threshold}) failed on attempt {Attempts}; given up: {GivenUp}; {Error}")]
    private static partial void LogDeliveryFailed(ILogger logger, string channel, string serialNumber, string threshold, int attempts, bool givenUp, string error);
}
