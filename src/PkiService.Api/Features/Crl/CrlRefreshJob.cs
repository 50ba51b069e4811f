using Microsoft.Extensions.Options;

namespace PkiService.Api.Features.Crl;

/// <summary>Re-issues the CRLs before their nextUpdate even when nothing was revoked.</summary>
public sealed partial class CrlRefreshJob(CrlPublisher publisher, IOptions<CrlOptions> options, TimeProvider time, ILogger<CrlRefreshJob> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.CheckIntervalDuration, time);
        do
        {
            try
            {
                if (publisher.IsDue(time.GetUtcNow()))
                {
                    await publisher.EnsurePublishedAfterAsync(stoppingToken);
                }
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                LogRefreshFailed(logger, exception); // the next tick tries again
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 5002, EventName = "CrlRefreshFailed", Level = LogLevel.Error, Message = "CRL refresh failed; retrying at the next check")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);
}
