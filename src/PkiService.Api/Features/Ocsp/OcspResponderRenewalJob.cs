using Microsoft.Extensions.Options;

namespace PkiService.Api.Features.Ocsp;

/// <summary>Checks the delegated OCSP responder certificates periodically and renews them before they expire.</summary>
public sealed partial class OcspResponderRenewalJob(OcspResponderSet responders, IOptions<OcspOptions> options, TimeProvider time, ILogger<OcspResponderRenewalJob> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.RenewalCheckIntervalDuration, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                if (responders.RenewIfDue())
                {
                    LogRenewed(logger, responders.IssuingResponder.NotAfter);
                }
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                LogRenewalFailed(logger, exception);
            }
        }
    }

    [LoggerMessage(EventId = 6002, EventName = "OcspResponderRenewed", Level = LogLevel.Information,
        Message = "Renewed the OCSP responder certificates; the issuing CA's is valid until {NotAfter:O}")]
    private static partial void LogRenewed(ILogger logger, DateTimeOffset notAfter);

    [LoggerMessage(EventId = 6003, EventName = "OcspResponderRenewalFailed", Level = LogLevel.Error,
        Message = "OCSP responder certificate renewal failed; retrying at the next check")]
    private static partial void LogRenewalFailed(ILogger logger, Exception exception);
}
