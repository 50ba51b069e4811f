using Microsoft.Extensions.Options;
using PkiService.Persistence;

namespace PkiService.Api.Features.Crl;

/// <summary>
/// On a shared database: keeps one CRL builder in the cluster. The holder renews the lease every third of
/// <c>Crl:LeaseDuration</c>; every other node loads newly published CRLs every <c>Crl:ClusterPollInterval</c> (the
/// safety net under the <c>pki_crl</c> announcement) and takes the lease over as soon as it has expired, then builds
/// a new base CRL. Does nothing on a database no other node shares.
/// </summary>
/// <remarks>
/// Stopping the application releases the lease, so another node takes over at its next poll; stopping only this job
/// (or killing the process) leaves the lease to expire.
/// </remarks>
public sealed partial class CrlClusterJob(
    CrlPublisher publisher,
    CrlBuilderLease lease,
    IPkiDatabase database,
    IOptions<CrlOptions> options,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<CrlClusterJob> logger) : BackgroundService
{
    /// <summary>Added to a lease's remaining time before a follower tries to take it, so the database finds it expired.</summary>
    private static readonly TimeSpan ExpiryMargin = TimeSpan.FromMilliseconds(20);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!database.IsShared)
        {
            return;
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan delay;
            try
            {
                delay = await RunOnceAsync(stoppingToken);
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                // Stopped mid-step (the database call was cancelled): an end, not a fault. Left to escape, it would be
                // taken for a crashed background service, which stops the host when the job alone was stopped.
                return;
            }
            catch (Exception exception)
            {
                // The holder retries sooner than its renewal interval, so one failed renewal does not cost the lease;
                // the lease lapses by itself if this goes on.
                LogClusterStepFailed(logger, exception);
                delay = lease.IsHeld ? lease.RenewInterval / 3 : options.Value.ClusterPollIntervalDuration;
            }
            try
            {
                await Task.Delay(delay, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One step: renew as the holder, or follow (load, and take the lease when it expired). Returns when to run the next.</summary>
    public async Task<TimeSpan> RunOnceAsync(CancellationToken cancellationToken)
    {
        lease.CheckExpired();
        if (lease.IsHeld)
        {
            if (await lease.TryAcquireAsync(cancellationToken))
            {
                await publisher.TookOverAsync(cancellationToken);
            }
            else if (lease.IsHeld && publisher.IsDue(time.GetUtcNow()))
            {
                await publisher.EnsurePublishedAfterAsync(cancellationToken); // a build that failed, e.g. the one after taking over
            }
            if (lease.IsHeld)
            {
                return lease.RenewInterval;
            }
        }
        await publisher.ReloadAsync(cancellationToken);
        await publisher.ReloadUploadedRootAsync(cancellationToken); // an announcement of another node's upload may have been missed
        var poll = options.Value.ClusterPollIntervalDuration;
        var state = await lease.ReadAsync(cancellationToken);
        if (state.Remaining > TimeSpan.Zero)
        {
            // Wake right after the expiry if it comes before the next poll: fail-over within about Crl:LeaseDuration.
            return state.Remaining + ExpiryMargin < poll ? state.Remaining + ExpiryMargin : poll;
        }
        if (await lease.TryAcquireAsync(cancellationToken))
        {
            await publisher.TookOverAsync(cancellationToken);
            return lease.RenewInterval;
        }
        return poll;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (database.IsShared && lifetime.ApplicationStopping.IsCancellationRequested)
        {
            try
            {
                await lease.ReleaseAsync(cancellationToken);
            }
            catch (Exception exception)
            {
                LogReleaseFailed(logger, exception); // it expires by itself
            }
        }
    }

    [LoggerMessage(EventId = 5009, EventName = "CrlClusterStepFailed", Level = LogLevel.Error,
        Message = "Renewing the CRL builder lease or loading the published CRLs failed; retrying")]
    private static partial void LogClusterStepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5010, EventName = "CrlBuilderLeaseReleaseFailed", Level = LogLevel.Warning,
        Message = "Could not release the CRL builder lease on stopping; another node takes it over when it expires")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception);
}
