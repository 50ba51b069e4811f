using Microsoft.Extensions.Options;

namespace PkiService.Api.Features.Expiry;

/// <summary>Scans for expiring certificates and delivers due warnings every <c>Expiry:ScanInterval</c>; a failed run logs and the loop goes on.</summary>
public sealed partial class ExpiryWarningJob(IServiceScopeFactory scopes, IOptions<ExpiryOptions> options, TimeProvider time, ILogger<ExpiryWarningJob> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ScanIntervalDuration, time);
        do
        {
            try
            {
                await RunOnceAsync(scopes, stoppingToken);
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                LogRunFailed(logger, exception);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One scan followed by one delivery pass.</summary>
    public static async Task RunOnceAsync(IServiceScopeFactory scopes, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<ExpiryScanner>().ScanAsync(cancellationToken);
        await scope.ServiceProvider.GetRequiredService<ExpiryWarningDispatcher>().DeliverDueAsync(cancellationToken);
    }

    [LoggerMessage(EventId = 7004, EventName = "ExpiryRunFailed", Level = LogLevel.Error, Message = "Expiry scan or delivery failed; retrying at the next interval")]
    private static partial void LogRunFailed(ILogger logger, Exception exception);
}
