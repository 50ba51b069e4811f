using System.Net;
using System.Net.Sockets;

namespace PkiService.AspNetCore.Tests.Support;

/// <summary>Forwards TCP connections from a loopback port to another one (a service appearing at an address late).</summary>
public sealed class TcpRelay : IDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();

    private TcpRelay(int port, int target)
    {
        _listener = new TcpListener(IPAddress.Loopback, port);
        _listener.Start();
        _ = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient incoming;
                try
                {
                    incoming = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                _ = Task.Run(async () =>
                {
                    using var inbound = incoming;
                    using var outbound = new TcpClient();
                    await outbound.ConnectAsync(IPAddress.Loopback, target);
                    var a = inbound.GetStream().CopyToAsync(outbound.GetStream(), _stop.Token);
                    var b = outbound.GetStream().CopyToAsync(inbound.GetStream(), _stop.Token);
                    try
                    {
                        await Task.WhenAny(a, b);
                    }
                    catch (Exception)
                    {
                    }
                });
            }
        });
    }

    public static TcpRelay Start(int port, int target) => new(port, target);

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
    }
}
