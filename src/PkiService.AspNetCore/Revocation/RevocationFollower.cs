using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PkiService.AspNetCore.Service;
using PkiService.AspNetCore.Trust;

namespace PkiService.AspNetCore.Revocation;

/// <summary>
/// Keeps <see cref="RevokedSet"/> current. <see cref="PkiRevocationMode.Push"/>: follows the revocation stream
/// (resuming with <c>Last-Event-ID</c> = the last event id or the CRL number, reconnecting with backoff) and, while it
/// is down, polls the delta CRL every <c>PkiClient:CrlPollInterval</c> (and the complete CRL when the delta's base
/// moved). <see cref="PkiRevocationMode.Crl"/>: the polling alone. The complete CRL is also re-fetched once half its
/// validity has passed, so the set is rebuilt well before its nextUpdate.
/// </summary>
internal sealed partial class RevocationFollower(
    PkiClientSettings settings,
    PkiServiceClient client,
    TrustAnchorStore anchors,
    RevokedSet set,
    TimeProvider time,
    ILogger<RevocationFollower> logger) : BackgroundService
{
    public const string CrlPath = "pki/crl";
    public const string DeltaCrlPath = "pki/delta.crl";

    private static readonly TimeSpan FirstReconnectDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A complete CRL that is merely due (half its validity gone, or a newer one announced by the stream's event ids)
    /// is fetched at most this often; one a delta CRL needs is fetched at once.
    /// </summary>
    private static readonly TimeSpan CompleteCrlFetchInterval = TimeSpan.FromMinutes(1);

    private readonly SemaphoreSlim _pollNow = new(0, 1);
    private long? _lastEventId;
    private DateTimeOffset _lastCompleteFetch = DateTimeOffset.MinValue;
    private string? _deltaETag;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (settings.Revocation is not (PkiRevocationMode.Push or PkiRevocationMode.Crl))
        {
            return Task.CompletedTask;
        }
        var loops = new List<Task> { Task.Run(() => PollLoopAsync(stoppingToken), stoppingToken) };
        if (settings.Revocation == PkiRevocationMode.Push)
        {
            loops.Add(Task.Run(() => StreamLoopAsync(stoppingToken), stoppingToken));
        }
        return Task.WhenAll(loops);
    }

    /// <summary>Fetches and installs the complete CRL (start-up and rebuilds).</summary>
    public static async Task<VerifiedCrl> LoadCompleteAsync(PkiServiceClient client, PkiTrustAnchors anchors, RevokedSet set, int maxSerials, CancellationToken cancellationToken)
    {
        var der = await client.GetBytesAsync(CrlPath, cancellationToken);
        var crl = VerifiedCrl.Verify(der, anchors, delta: false, maxSerials);
        set.ReplaceComplete(crl);
        return crl;
    }

    private async Task PollLoopAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _pollNow.WaitAsync(settings.CrlPollInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            try
            {
                await PollOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error)
            {
                // A failed round logs and the loop goes on: an exception escaping a hosted service would stop the API.
                PollFailed(logger, error.Message);
            }
        }
    }

    /// <summary>One round of polling: the complete CRL when it is due, the delta CRL unless the stream is live.</summary>
    internal async Task PollOnceAsync(CancellationToken cancellationToken)
    {
        if (anchors.Current is not { } trust)
        {
            return;
        }
        var now = time.GetUtcNow();
        var complete = set.Complete;
        var due = complete is null
            || ((now >= complete.ThisUpdate + (complete.NextUpdate - complete.ThisUpdate) / 2 || set.NewestAnnouncedCrl > complete.Number)
                && now - _lastCompleteFetch >= CompleteCrlFetchInterval);
        if (due)
        {
            _lastCompleteFetch = now;
            var crl = await LoadCompleteAsync(client, trust, set, settings.MaxRevokedSerials, cancellationToken);
            CompleteCrlLoaded(logger, crl.Number, crl.Entries.Count, crl.NextUpdate);
        }
        if (settings.Revocation == PkiRevocationMode.Push && set.StreamLive)
        {
            return;
        }
        var (deltaDer, deltaETag) = await client.GetIfChangedAsync(DeltaCrlPath, _deltaETag, cancellationToken);
        if (deltaDer is null)
        {
            return;
        }
        var delta = VerifiedCrl.Verify(deltaDer, trust, delta: true, settings.MaxRevokedSerials);
        if (set.Complete is { } current && delta.BaseNumber > current.Number)
        {
            // RFC 5280 5.2.4: the delta applies only to a complete CRL at or after its base: fetch the newer one first.
            var crl = await LoadCompleteAsync(client, trust, set, settings.MaxRevokedSerials, cancellationToken);
            CompleteCrlLoaded(logger, crl.Number, crl.Entries.Count, crl.NextUpdate);
        }
        if (set.ApplyDelta(delta))
        {
            // Only a delta that was applied is skipped next time; one whose base was ahead is fetched again.
            _deltaETag = deltaETag;
        }
    }

    private void PollNow()
    {
        try
        {
            _pollNow.Release();
        }
        catch (SemaphoreFullException)
        {
            // A poll is already pending.
        }
    }

    private async Task StreamLoopAsync(CancellationToken stoppingToken)
    {
        var delay = FirstReconnectDelay;
        while (!stoppingToken.IsCancellationRequested)
        {
            var wasLive = false;
            try
            {
                var resumeFrom = _lastEventId ?? set.Complete?.Number;
                using var response = await client.OpenRevocationStreamAsync(resumeFrom, stoppingToken);
                await using var body = new GuardedEventStream(await response.Content.ReadAsStreamAsync(stoppingToken), settings.StreamIdleTimeout);
                await foreach (var item in RevocationStreamEvent.ReadAsync(body, type => MalformedEvent(logger, type), stoppingToken))
                {
                    if (item.Id is { } id)
                    {
                        _lastEventId = id;
                        set.AnnounceCrl(id);
                    }
                    switch (item)
                    {
                        case RevocationStreamEvent.Ready ready:
                            set.AnnounceCrl(ready.CrlNumber);
                            if (!wasLive)
                            {
                                set.StreamLive = wasLive = true;
                                delay = FirstReconnectDelay;
                                StreamConnected(logger, client.ServiceUrl, resumeFrom?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none");
                            }
                            break;
                        case RevocationStreamEvent.Revoked revoked when anchors.Current is { } trust:
                            if (string.Equals(revoked.Issuer, trust.IssuingFingerprint, StringComparison.Ordinal))
                            {
                                set.Add(revoked.SerialNumber, revoked.RevokedAt);
                                RevocationReceived(logger, revoked.SerialNumber, revoked.Reason ?? "unspecified");
                            }
                            break;
                    }
                }
                StreamFailed(logger, "the server ended the stream");
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error)
            {
                StreamFailed(logger, error.Message);
            }
            finally
            {
                if (wasLive)
                {
                    set.StreamLive = false;
                    // Whatever was revoked meanwhile is in the next delta CRL (and replayed on resume): poll at once.
                    PollNow();
                }
            }
            try
            {
                await Task.Delay(delay, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxReconnectDelay.Ticks));
        }
    }

    [LoggerMessage(EventId = 1210, EventName = "PkiClientRevocationStreamConnected", Level = LogLevel.Information,
        Message = "Revocation stream of {ServiceUrl} connected and caught up (resumed from CRL {LastEventId})")]
    private static partial void StreamConnected(ILogger logger, Uri serviceUrl, string lastEventId);

    [LoggerMessage(EventId = 1211, EventName = "PkiClientRevocationStreamDown", Level = LogLevel.Warning,
        Message = "Revocation stream down ({Error}); polling the delta CRL until it is back")]
    private static partial void StreamFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 1212, EventName = "PkiClientRevocationReceived", Level = LogLevel.Information,
        Message = "Revocation received from the stream: serial {SerialNumber}, reason {Reason}")]
    private static partial void RevocationReceived(ILogger logger, string serialNumber, string reason);

    [LoggerMessage(EventId = 1213, EventName = "PkiClientRevocationStreamMalformedEvent", Level = LogLevel.Warning,
        Message = "Revocation stream sent a malformed '{EventType}' event; skipped")]
    private static partial void MalformedEvent(ILogger logger, string eventType);

    [LoggerMessage(EventId = 1214, EventName = "PkiClientCrlPollFailed", Level = LogLevel.Warning,
        Message = "Fetching or checking a CRL failed: {Error}")]
    private static partial void PollFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 1215, EventName = "PkiClientCompleteCrlLoaded", Level = LogLevel.Information,
        Message = "Complete CRL {CrlNumber} loaded: {Count} revoked serials, nextUpdate {NextUpdate:O}")]
    private static partial void CompleteCrlLoaded(ILogger logger, long crlNumber, int count, DateTimeOffset nextUpdate);
}
