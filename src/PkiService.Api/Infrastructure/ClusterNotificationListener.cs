using System.Diagnostics.Metrics;
using PkiService.Persistence;

namespace PkiService.Api.Infrastructure;

/// <summary>
/// This node's one listening connection (<see cref="IPkiDatabase.ListenAsync"/>) for the channels of every registered
/// <see cref="IClusterNotificationSubscriber"/>: it tells each subscriber when listening starts or is lost and hands
/// it the announcements on its channel, in order. A subscriber that fails is logged and does not stop the others, nor
/// the listening. On SQLite listening is in effect at once and never lost.
/// </summary>
public sealed partial class ClusterNotificationListener(
    IPkiDatabase database,
    IEnumerable<IClusterNotificationSubscriber> subscribers,
    ClusterNotificationState state,
    ILogger<ClusterNotificationListener> logger)
    : BackgroundService, IDatabaseListener
{
    private readonly IClusterNotificationSubscriber[] _subscribers = [.. subscribers];

    /// <summary>True while LISTEN is in effect on every channel.</summary>
    public bool IsListening => state.IsListening;

    /// <summary>How often the listening connection was lost since start.</summary>
    public long Losses => state.Losses;

    /// <summary>How often LISTEN came into effect since start (the first time included).</summary>
    public long Listenings => state.Listenings;

    /// <summary>The channels listened on: one per subscribed channel.</summary>
    public IReadOnlyList<string> Channels => [.. _subscribers.Select(s => s.Channel).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_subscribers.Length == 0)
        {
            return;
        }
        try
        {
            await database.ListenAsync(Channels, this, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception exception)
        {
            // Not expected (ListenAsync reconnects by itself): whatever relies on hearing other nodes must stop trusting
            // what it cached, and the node goes on serving from the database.
            Lost();
            LogListenerFailed(logger, exception);
        }
    }

    async Task IDatabaseListener.ListeningAsync(CancellationToken cancellationToken)
    {
        var restored = state.ListeningStarted() > 1;
        foreach (var subscriber in _subscribers)
        {
            try
            {
                await subscriber.ListeningAsync(cancellationToken);
            }
            catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
            {
                LogSubscriberFailed(logger, subscriber.Channel, "listening", exception);
            }
        }
        state.Listening();
        if (restored)
        {
            LogRestored(logger, Losses);
        }
    }

    /// <summary>Tells every subscriber at once that announcements may be missed from now on.</summary>
    public void Lost()
    {
        state.Lost();
        foreach (var subscriber in _subscribers)
        {
            try
            {
                subscriber.Lost();
            }
            catch (Exception exception)
            {
                LogSubscriberFailed(logger, subscriber.Channel, "lost", exception);
            }
        }
        LogLost(logger);
    }

    async Task IDatabaseListener.NotifiedAsync(string channel, string payload, CancellationToken cancellationToken)
    {
        foreach (var subscriber in _subscribers)
        {
            if (!string.Equals(subscriber.Channel, channel, StringComparison.Ordinal))
            {
                continue;
            }
            try
            {
                await subscriber.NotifiedAsync(payload, cancellationToken);
            }
            catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
            {
                LogSubscriberFailed(logger, channel, "notified", exception);
            }
        }
    }

    [LoggerMessage(EventId = 9311, EventName = "ClusterNotificationsLost", Level = LogLevel.Warning,
        Message = "Cluster notifications lost: cached statuses are not trusted until listening is back and they were reloaded")]
    private static partial void LogLost(ILogger logger);

    [LoggerMessage(EventId = 9312, EventName = "ClusterNotificationsRestored", Level = LogLevel.Information,
        Message = "Cluster notifications restored (losses since start: {Losses}); caches were reloaded")]
    private static partial void LogRestored(ILogger logger, long losses);

    [LoggerMessage(EventId = 9313, EventName = "ClusterNotificationSubscriberFailed", Level = LogLevel.Error,
        Message = "The subscriber to channel {Channel} failed when {Event}; the other subscribers go on")]
    private static partial void LogSubscriberFailed(ILogger logger, string channel, string @event, Exception exception);

    [LoggerMessage(EventId = 9314, EventName = "ClusterNotificationListenerFailed", Level = LogLevel.Critical,
        Message = "Listening for cluster notifications stopped; this node answers from the database only, without caches")]
    private static partial void LogListenerFailed(ILogger logger, Exception exception);
}

/// <summary>
/// Whether the listener listens, and how often it lost and regained its connection: kept apart from the listener,
/// which depends (through its subscribers) on services that create the metrics, so the gauges can read it without
/// creating the listener.
/// </summary>
public sealed class ClusterNotificationState
{
    private long _losses;
    private long _listenings;
    private int _listening;

    /// <summary>True while LISTEN is in effect and every subscriber has caught up.</summary>
    public bool IsListening => Volatile.Read(ref _listening) == 1;

    /// <summary>How often the listening connection was lost since start.</summary>
    public long Losses => Interlocked.Read(ref _losses);

    /// <summary>How often LISTEN came into effect since start (the first time included).</summary>
    public long Listenings => Interlocked.Read(ref _listenings);

    /// <summary>Counts a LISTEN that came into effect; returns how many there were.</summary>
    public long ListeningStarted() => Interlocked.Increment(ref _listenings);

    /// <summary>Every subscriber has caught up.</summary>
    public void Listening() => Volatile.Write(ref _listening, 1);

    /// <summary>The connection was lost.</summary>
    public void Lost()
    {
        Volatile.Write(ref _listening, 0);
        Interlocked.Increment(ref _losses);
    }
}

/// <summary>The listener's metrics: whether it listens, how often it lost and regained its connection.</summary>
public sealed class ClusterNotificationGauges(ClusterNotificationState listener) : IPkiGauges
{
    public void Register(Meter meter, PkiMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(meter);
        meter.CreateObservableGauge("pki.cluster.notifications.listening", () => listener.IsListening ? 1 : 0,
            description: "1 while this node listens for other nodes' announcements (LISTEN in effect), else 0");
        meter.CreateObservableCounter("pki.cluster.notifications.lost", () => listener.Losses,
            description: "Times the listening connection was lost since start (caches were dropped and reloaded)");
        meter.CreateObservableCounter("pki.cluster.notifications.listening_started", () => listener.Listenings,
            description: "Times LISTEN came into effect since start (the first time and every reconnection)");
    }
}

/// <summary>Registration of the listener.</summary>
public static class ClusterNotificationListenerRegistration
{
    /// <summary>The one listening connection for every <see cref="IClusterNotificationSubscriber"/>, and its metrics.</summary>
    public static IServiceCollection AddClusterNotificationListener(this IServiceCollection services)
    {
        services.AddSingleton<ClusterNotificationState>();
        services.AddSingleton<ClusterNotificationListener>();
        services.AddHostedService(provider => provider.GetRequiredService<ClusterNotificationListener>());
        services.AddSingleton<IPkiGauges, ClusterNotificationGauges>();
        return services;
    }
}
