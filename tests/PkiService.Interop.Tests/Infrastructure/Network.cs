using System.Net;
using System.Net.Sockets;

namespace PkiService.Interop.Tests.Infrastructure;

public static class Network
{
    /// <summary>A loopback TCP port that was free a moment ago (the OS picks it; callers retry if another process takes it first).</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
