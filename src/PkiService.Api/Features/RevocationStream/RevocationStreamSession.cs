using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using PkiService.Api.Features.Crl;

namespace PkiService.Api.Features.RevocationStream;

/// <summary>
/// One stream's life: headers, <c>retry</c>, the replay the client's Last-Event-ID asks for, <c>ready</c>, then the feed's
/// events as they come and <c>: keep-alive</c> comments in the silences, until the client leaves or the host stops.
/// </summary>
/// <remarks>
/// The wire format (fixed with the clients' authors): every event is <c>id: N</c> (the issuing CA's newest complete CRL
/// number this node serves when it sends), <c>event: revoked</c>, <c>data: {"issuer","serialNumber","reason","revokedAt"}</c>.
/// An event sent before the CRL that lists it is built carries the number of the CRL before, so a client resuming from
/// it gets that revocation again: duplicates are possible, losses are not.
/// </remarks>
public sealed partial class RevocationStreamSession(
    RevocationFeed feed,
    CrlPublisher publisher,
    CrlHistory history,
    RevocationStreamClients clients,
    IOptions<RevocationStreamOptions> options,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<RevocationStreamSession> logger)
{
    /// <summary>WHATWG HTML 9.2.6: the reconnection time the client should use, in milliseconds.</summary>
    public const int RetryMilliseconds = 2000;

    /// <summary>Replayed events written between two flushes.</summary>
    private const int ReplayFlushEvery = 256;

    private const string KeepAliveComment = ": keep-alive\n\n";

    /// <summary>Serves the stream until <paramref name="aborted"/> (the client left) or the host stops; never throws for either.</summary>
    public async Task RunAsync(HttpContext http, LastEventId lastEventId, CancellationToken aborted)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(aborted, lifetime.ApplicationStopping);
        var cancellationToken = stop.Token;
        var response = http.Response;
        try
        {
            // Events appended from here on are sent live; the replay below reads the database after this, so a
            // revocation is in one or the other (or both: clients treat events as set additions).
            var position = feed.Head;
            var crl = (await publisher.GetCurrentAsync(cancellationToken)).Issuing;
            history.Record(crl);

            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = RevocationStreamEndpoints.EventStream;
            response.Headers.CacheControl = "no-store";
            response.Headers["X-Accel-Buffering"] = "no"; // nginx: pass events through at once
            await WriteAsync(response, $"retry: {RetryMilliseconds}\n\n", flush: true, cancellationToken);

            var replayed = 0;
            if (lastEventId.IsPresent)
            {
                var since = lastEventId.CrlNumber is { } number && history.ThisUpdateAtOrBefore(number) is { } thisUpdate
                    ? thisUpdate - RevocationFeed.Margin
                    : (DateTimeOffset?)null;
                await foreach (var revocation in feed.ReplayAsync(since, cancellationToken))
                {
                    replayed++;
                    await WriteAsync(response, revocation.Format(CurrentCrlNumber()), flush: replayed % ReplayFlushEvery == 0, cancellationToken);
                }
                clients.Sent(replayed);
                LogResumed(logger, lastEventId.CrlNumber?.ToString(CultureInfo.InvariantCulture) ?? "(not a CRL number)", since, replayed);
            }
            var ready = CurrentCrlNumber();
            await WriteAsync(response, $"id: {ready}\nevent: ready\ndata: {{\"crlNumber\":{ready}}}\n\n", flush: true, cancellationToken);
            clients.Sent(1);

            await SendLiveAsync(response, position, cancellationToken);
        }
        catch (Exception exception) when (exception is IOException // a reset connection included
            || (exception is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            // The client left or the host is stopping: the stream just ends (a client reconnects with Last-Event-ID).
        }
        catch (Exception exception) when (response.HasStarted)
        {
            // The headers are sent, so no problem answer can follow (a replay's database read failed, say): the stream
            // ends, and the client reconnects with Last-Event-ID and gets what it missed.
            LogStreamFailed(logger, exception);
        }
    }

    private async Task SendLiveAsync(HttpResponse response, long position, CancellationToken cancellationToken)
    {
        var keepAlive = options.Value.KeepAliveDuration;
        var events = new List<RevocationEvent>();
        while (!cancellationToken.IsCancellationRequested)
        {
            events.Clear();
            if (feed.TryRead(ref position, events, out var advanced) == RevocationFeed.ReadResult.Overrun)
            {
                // More than the feed keeps arrived before this client took them: it resumes with Last-Event-ID and
                // gets them from the database.
                LogOverrun(logger, RevocationFeed.Capacity);
                return;
            }
            if (events.Count > 0)
            {
                var id = CurrentCrlNumber();
                foreach (var revocation in events)
                {
                    await WriteAsync(response, revocation.Format(id), flush: false, cancellationToken);
                }
                await response.Body.FlushAsync(cancellationToken);
                clients.Sent(events.Count);
                continue;
            }
            using var silence = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var timeout = Task.Delay(keepAlive, time, silence.Token);
            var woke = await Task.WhenAny(advanced, timeout);
            await silence.CancelAsync();
            cancellationToken.ThrowIfCancellationRequested();
            if (woke == timeout)
            {
                await WriteAsync(response, KeepAliveComment, flush: true, cancellationToken);
            }
        }
    }

    /// <summary>The issuing CA's newest complete CRL number this node serves, in decimal: the id of what is sent now.</summary>
    private string CurrentCrlNumber()
    {
        var crl = publisher.Published?.Issuing;
        history.Record(crl);
        return crl?.Crl.CrlNumber.ToString(CultureInfo.InvariantCulture) ?? "0";
    }

    private static async Task WriteAsync(HttpResponse response, string text, bool flush, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
        if (flush)
        {
            await response.Body.FlushAsync(cancellationToken);
        }
    }

    [LoggerMessage(EventId = 4302, EventName = "RevocationStreamResumed", Level = LogLevel.Debug,
        Message = "Revocation stream resumed from Last-Event-ID {LastEventId}: replayed {Replayed} revocations (revoked since {Since:O}; none: all unexpired)")]
    private static partial void LogResumed(ILogger logger, string lastEventId, DateTimeOffset? since, int replayed);

    [LoggerMessage(EventId = 4304, EventName = "RevocationStreamFailed", Level = LogLevel.Warning,
        Message = "Ended a revocation stream that could not go on; the client resumes with Last-Event-ID")]
    private static partial void LogStreamFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4303, EventName = "RevocationStreamOverrun", Level = LogLevel.Information,
        Message = "Ended a revocation stream that fell more than {Capacity} events behind; the client resumes with Last-Event-ID")]
    private static partial void LogOverrun(ILogger logger, int capacity);
}
