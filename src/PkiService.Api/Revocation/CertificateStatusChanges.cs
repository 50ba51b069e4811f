using System.Runtime.ExceptionServices;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PkiService.Core.Primitives;

namespace PkiService.Api.Revocation;

/// <summary>
/// The one way to say that certificate statuses in the database have changed, so that every cache of them and every
/// artifact built from them (cached OCSP responses and statuses, the CRLs) follows. A revocation on this node goes
/// through it; so will a change another node announces (issue #11: PostgreSQL LISTEN/NOTIFY), and a node that lost
/// its notification connection calls <see cref="AllStatusesMayHaveChangedAsync"/> because it may have missed some.
/// </summary>
/// <remarks>Call it after the change is committed: subscribers read the database again.</remarks>
public interface ICertificateStatusChanges
{
    /// <summary>
    /// The status of one certificate changed. Returns once every subscriber has dropped what it cached about it and
    /// rebuilt what lists it: OCSP then answers from the database, the CRLs list the change.
    /// </summary>
    Task StatusChangedAsync(string issuerFingerprint, SerialNumber serialNumber, CancellationToken cancellationToken);

    /// <summary>
    /// Any status may have changed (a notification may have been lost). Returns once every subscriber has dropped all it
    /// cached and rebuilt everything from the database, so no stale <c>good</c> is served afterwards.
    /// </summary>
    Task AllStatusesMayHaveChangedAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The first half of a change on its own: every subscriber drops what it cached about it (in memory, quick), so
    /// OCSP answers from the database from now on. For a caller that runs the rebuild later (<see cref="RebuildAsync"/>)
    /// and must not keep a stale answer served meanwhile.
    /// </summary>
    void Drop(CertificateStatusChange change);

    /// <summary>The second half: every subscriber rebuilds what lists the change (the CRLs). Call after <see cref="Drop"/>.</summary>
    Task RebuildAsync(CertificateStatusChange change, CancellationToken cancellationToken);
}

/// <summary>Which statuses may have changed: one certificate, or (<see cref="All"/>) every certificate.</summary>
public readonly record struct CertificateStatusChange
{
    private CertificateStatusChange(string issuerFingerprint, SerialNumber serialNumber)
    {
        IssuerFingerprint = issuerFingerprint;
        SerialNumber = serialNumber;
    }

    /// <summary>Every certificate's status may have changed.</summary>
    public static CertificateStatusChange All => default;

    /// <summary>The status of the certificate (issuer, serial) changed; RFC 5280 keys a certificate by both.</summary>
    public static CertificateStatusChange Of(string issuerFingerprint, SerialNumber serialNumber) =>
        new(issuerFingerprint ?? throw new ArgumentNullException(nameof(issuerFingerprint)), serialNumber);

    /// <summary>True for <see cref="All"/>.</summary>
    public bool IsAll => IssuerFingerprint is null;

    /// <summary>SHA-256 fingerprint of the issuing CA certificate; null for <see cref="All"/>.</summary>
    public string? IssuerFingerprint { get; }

    /// <summary>The certificate's serial; meaningless for <see cref="All"/>.</summary>
    public SerialNumber SerialNumber { get; }
}

/// <summary>
/// Something that caches certificate statuses or builds from them. A feature registers its subscriber with
/// <see cref="CertificateStatusChangesRegistration.AddCertificateStatusSubscriber{T}"/>; the seam never names a feature.
/// </summary>
/// <remarks>
/// Two phases, so a slow rebuild never keeps a stale answer served: first every subscriber's <see cref="Drop"/> (in
/// memory, synchronous, quick), then every subscriber's <see cref="RebuildAsync"/> in turn.
/// </remarks>
public interface ICertificateStatusSubscriber
{
    /// <summary>Drops what is cached about the change, so the next answer is read from the database. Must not block.</summary>
    void Drop(CertificateStatusChange change)
    {
    }

    /// <summary>Rebuilds and publishes what is derived from the changed statuses; done when the task completes.</summary>
    Task RebuildAsync(CertificateStatusChange change, CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// Fans a status change out to every <see cref="ICertificateStatusSubscriber"/> of this node and waits for all of them,
/// so a caller that returns after it (the revoke call) answers only once OCSP and the CRLs say so.
/// </summary>
/// <remarks>
/// A subscriber that fails does not stop the others (a failed CRL build must not keep a stale OCSP reply, nor the
/// reverse); the first failure is rethrown as is once all have run, more than one as an <see cref="AggregateException"/>.
/// </remarks>
public sealed partial class CertificateStatusNotifier(IEnumerable<ICertificateStatusSubscriber> subscribers, ILogger<CertificateStatusNotifier> logger)
    : ICertificateStatusChanges
{
    private readonly ICertificateStatusSubscriber[] _subscribers = [.. subscribers];

    public Task StatusChangedAsync(string issuerFingerprint, SerialNumber serialNumber, CancellationToken cancellationToken)
    {
        LogStatusChanged(logger, issuerFingerprint, serialNumber.Hex);
        return FanOutAsync(CertificateStatusChange.Of(issuerFingerprint, serialNumber), cancellationToken);
    }

    public Task AllStatusesMayHaveChangedAsync(CancellationToken cancellationToken)
    {
        LogAllStatusesMayHaveChanged(logger);
        return FanOutAsync(CertificateStatusChange.All, cancellationToken);
    }

    public void Drop(CertificateStatusChange change) => Throw(DropAll(change));

    public async Task RebuildAsync(CertificateStatusChange change, CancellationToken cancellationToken) =>
        Throw(await RebuildAllAsync(change, null, cancellationToken));

    private async Task FanOutAsync(CertificateStatusChange change, CancellationToken cancellationToken) =>
        Throw(await RebuildAllAsync(change, DropAll(change), cancellationToken));

    private List<Exception>? DropAll(CertificateStatusChange change)
    {
        List<Exception>? failures = null;
        foreach (var subscriber in _subscribers)
        {
            try
            {
                subscriber.Drop(change);
            }
            catch (Exception exception)
            {
                (failures ??= []).Add(exception);
            }
        }
        return failures;
    }

    private async Task<List<Exception>?> RebuildAllAsync(CertificateStatusChange change, List<Exception>? failures, CancellationToken cancellationToken)
    {
        foreach (var subscriber in _subscribers)
        {
            try
            {
                await subscriber.RebuildAsync(change, cancellationToken);
            }
            catch (Exception exception)
            {
                (failures ??= []).Add(exception);
            }
        }
        return failures;
    }

    private static void Throw(List<Exception>? failures)
    {
        switch (failures)
        {
            case null:
                return;
            case [var only]:
                ExceptionDispatchInfo.Throw(only);
                break;
            default:
                throw new AggregateException("Certificate status subscribers failed.", failures);
        }
    }

    [LoggerMessage(EventId = 4101, EventName = "CertificateStatusChanged", Level = LogLevel.Debug,
        Message = "Status of {SerialNumber} under issuer {IssuerFingerprint} changed; dropping cached statuses and rebuilding")]
    private static partial void LogStatusChanged(ILogger logger, string issuerFingerprint, string serialNumber);

    [LoggerMessage(EventId = 4102, EventName = "AllCertificateStatusesMayHaveChanged", Level = LogLevel.Information,
        Message = "Any certificate status may have changed; dropping every cached status and rebuilding from the database")]
    private static partial void LogAllStatusesMayHaveChanged(ILogger logger);
}

/// <summary>Registration of the status-change seam and of the subscribers features add to it.</summary>
public static class CertificateStatusChangesRegistration
{
    /// <summary>Registers <see cref="ICertificateStatusChanges"/> (once, however often called).</summary>
    public static IServiceCollection AddCertificateStatusChanges(this IServiceCollection services)
    {
        services.TryAddSingleton<ICertificateStatusChanges, CertificateStatusNotifier>();
        return services;
    }

    /// <summary>
    /// Subscribes the singleton <typeparamref name="T"/> (registered separately) to status changes. Subscribers are
    /// told in registration order within each phase.
    /// </summary>
    public static IServiceCollection AddCertificateStatusSubscriber<T>(this IServiceCollection services)
        where T : class, ICertificateStatusSubscriber
    {
        services.AddCertificateStatusChanges();
        services.AddSingleton<ICertificateStatusSubscriber>(provider => provider.GetRequiredService<T>());
        return services;
    }
}
