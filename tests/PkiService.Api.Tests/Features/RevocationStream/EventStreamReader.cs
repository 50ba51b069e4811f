using System.Text;
using System.Text.Json;

namespace PkiService.Api.Tests.Features.RevocationStream;

/// <summary>
/// A client of <c>GET /pki/revocations/stream</c> over a real socket: reads the body line by line and assembles events
/// as WHATWG HTML 9.2.6 says (fields <c>id</c>, <c>event</c>, <c>data</c>, <c>retry</c>; comment lines start with ':').
/// </summary>
public sealed class EventStreamReader : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private EventStreamReader(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _reader = new StreamReader(body, Encoding.UTF8);
    }

    public HttpResponseMessage Response => _response;

    /// <summary>Comment lines read so far (without the colon), e.g. " keep-alive".</summary>
    public List<string> Comments { get; } = [];

    /// <summary>The <c>retry</c> value last read, in milliseconds.</summary>
    public int? Retry { get; private set; }

    /// <summary>Opens the stream (headers read, body not); <paramref name="lastEventId"/> as the Last-Event-ID header.</summary>
    public static async Task<EventStreamReader> OpenAsync(HttpClient client, string? lastEventId = null, string path = "/pki/revocations/stream")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return new EventStreamReader(response, await response.Content.ReadAsStreamAsync());
    }

    /// <summary>The next event, or null at the end of the stream; fails after <paramref name="timeout"/> (default 10 s).</summary>
    public async Task<ServerSentEvent?> NextAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        string? id = null, type = null;
        var data = new StringBuilder();
        var any = false;
        while (true)
        {
            var line = await _reader.ReadLineAsync(cancel.Token);
            if (line is null)
            {
                return null;
            }
            if (line.Length == 0)
            {
                if (any)
                {
                    return new ServerSentEvent(id, type ?? "message", data.ToString());
                }
                continue;
            }
            if (line[0] == ':')
            {
                Comments.Add(line[1..]);
                continue;
            }
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "id":
                    id = value;
                    any = true;
                    break;
                case "event":
                    type = value;
                    any = true;
                    break;
                case "data":
                    if (data.Length > 0)
                    {
                        data.Append('\n');
                    }
                    data.Append(value);
                    any = true;
                    break;
                case "retry":
                    Retry = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                    break;
                default:
                    throw new InvalidOperationException($"Unexpected field line '{line}'.");
            }
        }
    }

    /// <summary>The events up to and including <c>ready</c>: the replay, then ready (last).</summary>
    public async Task<List<ServerSentEvent>> ReadThroughReadyAsync()
    {
        var events = new List<ServerSentEvent>();
        while (await NextAsync() is { } next)
        {
            events.Add(next);
            if (next.Type == "ready")
            {
                return events;
            }
        }
        throw new InvalidOperationException("The stream ended before 'ready'.");
    }

    public async ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        await Task.CompletedTask;
    }
}

/// <summary>One event as a client sees it.</summary>
public sealed record ServerSentEvent(string? Id, string Type, string Data)
{
    public JsonElement Json => JsonDocument.Parse(Data).RootElement;

    public string SerialNumber => Json.GetProperty("serialNumber").GetString()!;
}
