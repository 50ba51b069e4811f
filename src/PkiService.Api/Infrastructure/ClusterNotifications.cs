using PkiService.Persistence;

namespace PkiService.Api.Infrastructure;

/// <summary>
/// Something on this node that follows announcements other nodes sharing the database make on one channel
/// (<see cref="IPkiDatabase.NotifyAsync"/>): e.g. a revocation on another node, or a CRL another node published. One
/// listening connection per node serves every subscriber (registered with
/// <see cref="ClusterNotificationsRegistration.AddClusterNotificationSubscriber{T}"/>).
/// </summary>
public interface IClusterNotificationSubscriber
{
    /// <summary>The channel (a PostgreSQL identifier: lower case letters, digits, underscores), e.g. <c>pki_status</c>.</summary>
    string Channel { get; }

    /// <summary>
    /// Listening is in effect (at start and after each reconnect): whatever was announced while it was not may have
    /// been missed, so catch up from the database before trusting what is cached again.
    /// </summary>
    Task ListeningAsync(CancellationToken cancellationToken);

    /// <summary>The listening connection is lost: announcements may be missed until the next <see cref="ListeningAsync"/>. Must not block.</summary>
    void Lost();

    /// <summary>One announcement on <see cref="Channel"/>, this node's own included.</summary>
    Task NotifiedAsync(string payload, CancellationToken cancellationToken);
}

/// <summary>Registration of <see cref="IClusterNotificationSubscriber"/>s.</summary>
public static class ClusterNotificationsRegistration
{
    /// <summary>Subscribes the singleton <typeparamref name="T"/> (registered separately) to its channel.</summary>
    public static IServiceCollection AddClusterNotificationSubscriber<T>(this IServiceCollection services)
        where T : class, IClusterNotificationSubscriber
    {
        services.AddSingleton<IClusterNotificationSubscriber>(provider => provider.GetRequiredService<T>());
        return services;
    }
}
