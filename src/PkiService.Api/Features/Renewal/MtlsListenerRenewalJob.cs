using Microsoft.Extensions.Options;

namespace PkiService.Api.Features.Renewal;

/// <summary>Checks the mTLS listener's server certificate periodically and renews it before it expires.</summary>
public sealed partial class MtlsListenerRenewalJob(
    MtlsListenerSettings settings, IServiceProvider services, IOptions<RenewalOptions> options, TimeProvider time, ILogger<MtlsListenerRenewalJob> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (settings.Address is null)
        {
            return;
        }
        var certificate = services.GetRequiredService<MtlsListenerCertificate>();
        using var timer = new PeriodicTimer(options.Value.ListenerCertificateCheckIntervalDuration, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                if (await certificate.RenewIfDueAsync(stoppingToken))
                {
                    var current = await certificate.GetCertificateAsync(stoppingToken);
                    LogRenewed(logger, current.SerialNumber.Hex, current.NotAfter);
                }
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                LogRenewalFailed(logger, exception);
            }
        }
    }

    [LoggerMessage(EventId = 8010, EventName = "MtlsListenerCertificateRenewed", Level = LogLevel.Information,
        Message = "Renewed the mTLS listener certificate: now {SerialNumber}, valid until {NotAfter:O}")]
    private static partial void LogRenewed(ILogger logger, string serialNumber, DateTimeOffset notAfter);

    [LoggerMessage(EventId = 8011, EventName = "MtlsListenerCertificateRenewalFailed", Level = LogLevel.Error,
        Message = "mTLS listener certificate renewal failed; retrying at the next check")]
    private static partial void LogRenewalFailed(ILogger logger, Exception exception);
}
