using Microsoft.Extensions.Options;
using PkiService.Api.Infrastructure;
using PkiService.Persistence;

namespace PkiService.Api.Features.Crl;

/// <summary>
/// This node's view of the CRL builder lease (<c>Leases</c> row <see cref="Name"/>) on a shared database: whether it
/// holds it, at which generation, and until when by its own monotonic clock. Only the holder builds and signs CRLs.
/// </summary>
/// <remarks>
/// The local deadline starts when the node began asking for the lease, so it ends no later than the lease the
/// database granted (<see cref="DatabaseLeases"/>): a holder that could not renew in time stops building before
/// another node may take over. What it publishes is fenced anyway (<see cref="DatabaseLeases.IsHeldAsync"/> in the
/// publishing transaction).
/// </remarks>
public sealed partial class CrlBuilderLease(IServiceScopeFactory scopes, IOptions<CrlOptions> options, NodeInstance node, TimeProvider time, ILogger<CrlBuilderLease> logger)
{
    /// <summary>The lease's name in the <c>Leases</c> table.</summary>
    public const string Name = "crl-builder";

    private readonly Lock _lock = new();
    private long _generation; // 0: not held
    private long _deadline;   // TimeProvider timestamp

    /// <summary>This node's holder id: its <see cref="NodeInstance"/> id, the one its status announcements carry too.</summary>
    public string Holder { get; } = node.Id;

    /// <summary>The generation this node holds the lease at, or null when it does not hold it (or its local deadline passed).</summary>
    public long? Generation
    {
        get
        {
            lock (_lock)
            {
                return _generation != 0 && time.GetTimestamp() < _deadline ? _generation : null;
            }
        }
    }

    /// <summary>True while this node holds the lease.</summary>
    public bool IsHeld => Generation is not null;

    /// <summary>A third of the lease: how often the holder renews.</summary>
    public TimeSpan RenewInterval => options.Value.LeaseDurationValue / 3;

    /// <summary>
    /// Takes or renews the lease. Returns true when this call took it (it was not held by this node before, so the
    /// caller must build a new base CRL: another node may have published since); false when it renewed it or when
    /// another node holds it (<see cref="IsHeld"/> tells which).
    /// </summary>
    public async Task<bool> TryAcquireAsync(CancellationToken cancellationToken)
    {
        var duration = options.Value.LeaseDurationValue;
        var started = time.GetTimestamp();
        LeaseGrant? grant;
        await using (var scope = scopes.CreateAsyncScope())
        {
            grant = await DatabaseLeases.TryAcquireAsync(scope.ServiceProvider.GetRequiredService<PkiDbContext>(), Name, Holder, duration, cancellationToken);
        }
        lock (_lock)
        {
            var heldAt = _generation != 0 && time.GetTimestamp() < _deadline ? _generation : 0;
            if (grant is null)
            {
                MarkLost(reason: "another node holds it");
                return false;
            }
            _generation = grant.Generation;
            _deadline = started + (long)(duration.TotalSeconds * time.TimestampFrequency);
            if (heldAt == grant.Generation)
            {
                return false;
            }
            LogLeaseAcquired(logger, Holder, grant.Generation, duration.TotalSeconds);
            return true;
        }
    }

    /// <summary>Logs the loss once when the local deadline passed without a renewal (the database was unreachable or slow).</summary>
    public void CheckExpired()
    {
        lock (_lock)
        {
            if (_generation != 0 && time.GetTimestamp() >= _deadline)
            {
                MarkLost(reason: "it was not renewed before it expired");
            }
        }
    }

    /// <summary>The publishing transaction found the lease taken over: stop building at once.</summary>
    public void Fenced(long generation)
    {
        lock (_lock)
        {
            if (_generation == generation)
            {
                MarkLost(reason: "another node took it over");
            }
        }
    }

    /// <summary>Ends the lease in the database (a clean stop), so another node takes over without waiting for the expiry.</summary>
    public async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        long generation;
        lock (_lock)
        {
            generation = _generation;
            if (generation == 0)
            {
                return;
            }
            _generation = 0; // no build of this node publishes from now on
        }
        await using var scope = scopes.CreateAsyncScope();
        await DatabaseLeases.ReleaseAsync(scope.ServiceProvider.GetRequiredService<PkiDbContext>(), Name, Holder, generation, cancellationToken);
        LogLeaseReleased(logger, Holder, generation);
    }

    /// <summary>Who holds the lease and how long it has left (database clock), read without the write lock.</summary>
    public async Task<LeaseState> ReadAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await DatabaseLeases.ReadAsync(scope.ServiceProvider.GetRequiredService<PkiDbContext>(), Name, cancellationToken);
    }

    private void MarkLost(string reason)
    {
        if (_generation != 0)
        {
            LogLeaseLost(logger, Holder, _generation, reason);
            _generation = 0;
        }
    }

    [LoggerMessage(EventId = 5003, EventName = "CrlBuilderLeaseAcquired", Level = LogLevel.Information,
        Message = "This node ({Holder}) now holds the CRL builder lease, generation {Generation}, for {LeaseSeconds} s at a time; it builds and publishes the CRLs")]
    private static partial void LogLeaseAcquired(ILogger logger, string holder, long generation, double leaseSeconds);

    [LoggerMessage(EventId = 5004, EventName = "CrlBuilderLeaseLost", Level = LogLevel.Warning,
        Message = "This node ({Holder}) lost the CRL builder lease, generation {Generation}: {Reason}; it stops building and serves the CRLs published in the database")]
    private static partial void LogLeaseLost(ILogger logger, string holder, long generation, string reason);

    [LoggerMessage(EventId = 5005, EventName = "CrlBuilderLeaseReleased", Level = LogLevel.Information,
        Message = "This node ({Holder}) released the CRL builder lease, generation {Generation}, on stopping")]
    private static partial void LogLeaseReleased(ILogger logger, string holder, long generation);
}
