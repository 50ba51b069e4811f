using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PkiService.Api.Infrastructure;
using PkiService.Core.Primitives;
using PkiService.Persistence;

namespace PkiService.Api.Revocation;

/// <summary>
/// Certificate status changes told to the other nodes sharing the database (channel <see cref="ChannelName"/>), and
/// what this node does with theirs: a change another node announces goes through <see cref="ICertificateStatusChanges"/>
/// here as if it had happened here (cached OCSP responses and statuses dropped, CRLs rebuilt). While the listening
/// connection is lost an announcement may be missed, so the status caches stop being trusted
/// (<see cref="StatusCacheTrust"/>) until listening is back and every status was reloaded.
/// </summary>
/// <remarks>
/// The payload is <c>&lt;issuer SHA-256 fingerprint&gt; &lt;serial hex&gt; &lt;node instance id&gt;</c>, short ASCII
/// (PostgreSQL's limit is 8000 bytes). The node id lets a node skip its own announcements: it already told its own
/// subscribers before answering the revoke call.
/// </remarks>
public sealed partial class CertificateStatusAnnouncements(
    IPkiDatabase database,
    NodeInstance node,
    ICertificateStatusChanges statusChanges,
    StatusCacheTrust trust,
    ILogger<CertificateStatusAnnouncements> logger)
    : IClusterNotificationSubscriber
{
    /// <summary>The notification channel of certificate status changes.</summary>
    public const string ChannelName = "pki_status";

    /// <summary>Longest payload accepted (a fingerprint, a 20-octet serial and a node id fit well within it).</summary>
    public const int MaxPayloadLength = 256;

    // Other nodes' changes whose CRL follow-up has not started: at most one, the newest (see Follow).
    private readonly Lock _followLock = new();
    private CertificateStatusChange? _toFollow;
    private bool _following;

    public string Channel => ChannelName;

    /// <summary>
    /// Announces that the status of (<paramref name="issuerFingerprint"/>, <paramref name="serialNumber"/>) changed, from
    /// inside the transaction that changes it: PostgreSQL sends the announcement when that transaction commits and drops
    /// it when it rolls back, so the other nodes hear of the change exactly when it happened, and a node that dies right
    /// after its commit cannot lose it. A no-op on a database no other node shares.
    /// </summary>
    /// <exception cref="InvalidOperationException"><paramref name="db"/> has no transaction open.</exception>
    public Task AnnounceAsync(PkiDbContext db, string issuerFingerprint, SerialNumber serialNumber, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        if (db.Database.CurrentTransaction is null)
        {
            throw new InvalidOperationException("A status change is announced inside the transaction that makes it; begin the transaction first.");
        }
        return database.NotifyAsync(db, ChannelName, Format(issuerFingerprint, serialNumber, node.Id), cancellationToken);
    }

    /// <summary>The payload of an announcement.</summary>
    public static string Format(string issuerFingerprint, SerialNumber serialNumber, string nodeId) =>
        $"{issuerFingerprint} {serialNumber.Hex} {nodeId}";

    /// <summary>Reads a payload made by <see cref="Format"/>; false for anything else.</summary>
    public static bool TryParse(string? payload, [NotNullWhen(true)] out string? issuerFingerprint, out SerialNumber serialNumber, [NotNullWhen(true)] out string? nodeId)
    {
        issuerFingerprint = null;
        serialNumber = default!;
        nodeId = null;
        if (payload is null || payload.Length > MaxPayloadLength)
        {
            return false;
        }
        var parts = payload.Split(' ');
        if (parts is not [var issuer, var serial, var sender]
            || issuer.Length != 64 || !issuer.All(char.IsAsciiHexDigit)
            || !SerialNumber.TryParse(serial, out serialNumber)
            || sender.Length == 0 || !sender.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
        {
            return false;
        }
        issuerFingerprint = issuer.ToUpperInvariant();
        nodeId = sender;
        return true;
    }

    /// <summary>
    /// Another node's change (this node's own are skipped): what is cached about it is dropped before this returns,
    /// whatever else is going on, and the CRLs follow in the background (<see cref="Follow"/>), so the listening
    /// connection keeps being read (and pinged) while they are rebuilt.
    /// </summary>
    public Task NotifiedAsync(string payload, CancellationToken cancellationToken)
    {
        if (!TryParse(payload, out var issuer, out var serial, out var sender))
        {
            LogMalformed(logger, Printable(payload));
            return Task.CompletedTask;
        }
        if (string.Equals(sender, node.Id, StringComparison.Ordinal))
        {
            return Task.CompletedTask; // the revoking call already told this node's subscribers
        }
        LogRemoteChange(logger, serial.Hex, issuer, sender);
        var change = CertificateStatusChange.Of(issuer, serial);
        try
        {
            statusChanges.Drop(change); // a failure is logged by the listener; the CRLs follow regardless
        }
        finally
        {
            Follow(change);
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// The CRLs follow other nodes' changes one rebuild at a time; changes heard meanwhile wait as one, the newest. That
    /// loses nothing: announcements arrive in commit order, so a CRL built after the newest change committed lists the
    /// earlier ones too (and the CRL builds themselves are shared, <see cref="Features.Crl.CrlPublisher"/>). A burst of
    /// revocations elsewhere thus costs this node at most two rebuilds in a row and no memory beyond one change.
    /// </summary>
    private void Follow(CertificateStatusChange change)
    {
        lock (_followLock)
        {
            _toFollow = change;
            if (_following)
            {
                return;
            }
            _following = true;
        }
        _ = Task.Run(FollowPendingAsync);
    }

    private async Task FollowPendingAsync()
    {
        while (true)
        {
            CertificateStatusChange change;
            lock (_followLock)
            {
                if (_toFollow is not { } pending)
                {
                    _following = false;
                    return;
                }
                change = pending;
                _toFollow = null;
            }
            try
            {
                // Not cancellable, as in the revoke call: once a change is known, the CRLs must follow it.
                await statusChanges.RebuildAsync(change, CancellationToken.None);
            }
            catch (Exception exception)
            {
                LogRemoteChangeFailed(logger, change.SerialNumber.Hex, exception);
            }
        }
    }

    /// <summary>Announcements may be missed from now on: cached statuses and responses are no longer answered from.</summary>
    public void Lost() => trust.Distrust();

    /// <summary>
    /// Listening again: whatever changed meanwhile is unknown, so every cached status is dropped and the CRLs rebuilt
    /// from the database; only then are the caches trusted again. The first time too, on a shared database: changes
    /// made before this node listened were never announced to it. Nothing to do when the database is not shared.
    /// </summary>
    public async Task ListeningAsync(CancellationToken cancellationToken)
    {
        if (!database.IsShared)
        {
            return;
        }
        var epoch = trust.Epoch;
        try
        {
            await statusChanges.AllStatusesMayHaveChangedAsync(cancellationToken);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            // A CRL rebuild that failed is retried by the CRL feature's own schedule; the status caches are emptied by
            // TryRestore below in any case, so they may be trusted again.
            LogCatchUpFailed(logger, exception);
        }
        if (trust.TryRestore(epoch))
        {
            LogTrusted(logger);
        }
    }

    private static string Printable(string? payload) =>
        payload is null ? "(null)" : new string([.. payload.Take(80).Select(c => c is >= ' ' and <= '~' ? c : '?')]);

    [LoggerMessage(EventId = 4121, EventName = "CertificateStatusAnnouncementMalformed", Level = LogLevel.Warning,
        Message = "Ignored a malformed certificate status announcement: '{Payload}'")]
    private static partial void LogMalformed(ILogger logger, string payload);

    [LoggerMessage(EventId = 4122, EventName = "CertificateStatusChangedOnOtherNode", Level = LogLevel.Debug,
        Message = "Node {NodeId} changed the status of {SerialNumber} under issuer {IssuerFingerprint}")]
    private static partial void LogRemoteChange(ILogger logger, string serialNumber, string issuerFingerprint, string nodeId);

    [LoggerMessage(EventId = 4125, EventName = "CertificateStatusChangeFromOtherNodeFailed", Level = LogLevel.Error,
        Message = "Following another node's change of {SerialNumber} failed; the CRL refresh job retries the build")]
    private static partial void LogRemoteChangeFailed(ILogger logger, string serialNumber, Exception exception);

    [LoggerMessage(EventId = 4123, EventName = "CertificateStatusCatchUpFailed", Level = LogLevel.Error,
        Message = "Rebuilding from the database after listening resumed failed; cached statuses were dropped, the CRLs catch up on their schedule")]
    private static partial void LogCatchUpFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4124, EventName = "CertificateStatusCachesTrusted", Level = LogLevel.Information,
        Message = "Listening for other nodes' status changes; cached OCSP statuses are used again")]
    private static partial void LogTrusted(ILogger logger);
}

/// <summary>Registration of cross-node status announcements.</summary>
public static class CertificateStatusAnnouncementsRegistration
{
    /// <summary>The status cache trust, and the <c>pki_status</c> subscriber that keeps it and follows other nodes' changes.</summary>
    public static IServiceCollection AddCertificateStatusAnnouncements(this IServiceCollection services)
    {
        services.AddCertificateStatusChanges();
        services.TryAddSingleton<NodeInstance>();
        services.AddSingleton(provider => new StatusCacheTrust(provider.GetRequiredService<IPkiDatabase>()));
        services.AddSingleton<CertificateStatusAnnouncements>();
        services.AddClusterNotificationSubscriber<CertificateStatusAnnouncements>();
        return services;
    }
}
