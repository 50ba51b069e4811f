using System.Diagnostics;
using PkiService.Api.Infrastructure;
using PkiService.Core.Ocsp;

namespace PkiService.Api.Features.Ocsp;

/// <summary>A reply ready to send, with HTTP validators when it came from (or went into) the cache.</summary>
public sealed record OcspAnswer(OcspReply Reply, string? ETag);

/// <summary>
/// Answers one DER OCSP request: cache first for nonce-less single requests, otherwise look up and sign.
/// Never throws for bad input: garbage gets an OCSP malformedRequest reply (RFC 6960 2.3). Every answer is counted
/// by its status and timed.
/// </summary>
public sealed class OcspRequestAnswerer(OcspResponderSet responders, OcspResponseCache cache, PkiMetrics metrics, TimeProvider time)
{
    /// <summary>Answers <paramref name="requestDer"/>; null stands for a request that could not even be decoded (a bad GET URL).</summary>
    public async ValueTask<OcspAnswer> AnswerAsync(ReadOnlyMemory<byte>? requestDer, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var answer = requestDer is { } der
            ? await AnswerDecodedAsync(der, cancellationToken)
            : new OcspAnswer(OcspResponder.Rejection(OcspReplyStatus.MalformedRequest), null);
        metrics.OcspAnswered(answer.Reply, Stopwatch.GetElapsedTime(started));
        return answer;
    }

    private async ValueTask<OcspAnswer> AnswerDecodedAsync(ReadOnlyMemory<byte> requestDer, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (cache.TryGetByRequest(requestDer.Span, now, out var seen))
        {
            return new OcspAnswer(seen.Reply, seen.ETag); // the same bytes were answered before: no parsing
        }
        var responder = responders.Responder;
        var request = responder.Parse(requestDer.Span);
        if (request.CacheKey is not { } key)
        {
            return new OcspAnswer(await responder.RespondAsync(request, cancellationToken), null);
        }
        if (cache.TryGet(key, now, out var cached))
        {
            RememberIfPlain(request, requestDer.Span, key);
            return new OcspAnswer(cached.Reply, cached.ETag);
        }
        var generation = cache.Generation;
        var reply = await responder.RespondAsync(request, cancellationToken);
        if (reply.CacheKey is null)
        {
            return new OcspAnswer(reply, null); // refusals and "unknown" (the serial may be issued later) are not kept
        }
        var entry = cache.Add(key, reply, generation);
        RememberIfPlain(request, requestDer.Span, key);
        return new OcspAnswer(entry.Reply, entry.ETag);
    }

    /// <summary>
    /// Only a plain request's bytes go to the fast path, and only once its reply is held: a request padded with an
    /// unknown extension is answered from the cache by its key but never remembered (its bytes are one of endlessly
    /// many for the same key), and nor is one the cache holds no reply for (unknown serial, issuer not held).
    /// </summary>
    private void RememberIfPlain(ParsedOcspRequest request, ReadOnlySpan<byte> requestDer, OcspCacheKey key)
    {
        if (request.IsPlainSingleRequest)
        {
            cache.RememberRequest(requestDer, key);
        }
    }
}
