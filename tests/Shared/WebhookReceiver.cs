using System.Collections.Concurrent;
using System.Net;

namespace PkiService.Tests.Shared;

/// <summary>
/// A real HTTP receiver on loopback that records every webhook call (body, headers, arrival time) and answers from a
/// script. Compiled into both the API and the interop tests (linked source file); the service posts to it over real TCP.
/// </summary>
public sealed class WebhookReceiver : IDisposable
{
    private readonly HttpListener _listener;
    private readonly ConcurrentQueue<(int Status, string? Location)> _script = new();
    private readonly CancellationTokenSource _stop = new();

    public WebhookReceiver()
    {
        // A free port can be taken by another test process between the probe and Start: probe again then.
        for (var attempt = 1; ; attempt++)
        {
            Url = $"http://127.0.0.1:{FreePort()}/hooks/pki/";
            _listener = new HttpListener();
            _listener.Prefixes.Add(Url);
            try
            {
                _listener.Start();
                break;
            }
            catch (HttpListenerException) when (attempt < 10)
            {
                _listener.Close();
            }
        }
        _ = Task.Run(LoopAsync);
    }

    public string Url { get; }

    public ConcurrentQueue<Call> Calls { get; } = new();

    /// <summary>Status codes to answer with, in order; 200 once the script runs out.</summary>
    public void Script(params int[] statuses)
    {
        foreach (var status in statuses)
        {
            _script.Enqueue((status, null));
        }
    }

    /// <summary>Answers the next call with a redirect (<paramref name="status"/>, e.g. 307) to <paramref name="location"/>.</summary>
    public void ScriptRedirect(int status, string location) => _script.Enqueue((status, location));

    /// <summary>One call; <paramref name="PathAndQuery"/> is the path it was posted to, with its query.</summary>
    public sealed record Call(byte[] Body, IReadOnlyDictionary<string, string> Headers, int AnsweredWith, DateTimeOffset ReceivedAt, string PathAndQuery = "");

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }
            var receivedAt = DateTimeOffset.UtcNow;
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            var (status, location) = _script.TryDequeue(out var scripted) ? scripted : (200, null);
            var headers = context.Request.Headers.AllKeys.Where(k => k is not null).ToDictionary(k => k!, k => context.Request.Headers[k]!, StringComparer.OrdinalIgnoreCase);
            Calls.Enqueue(new Call(body.ToArray(), headers, status, receivedAt, context.Request.Url?.PathAndQuery ?? ""));
            context.Response.StatusCode = status;
            if (location is not null)
            {
                context.Response.RedirectLocation = location;
            }
            context.Response.Close();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
    }

    private static int FreePort()
    {
        using var socket = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}
