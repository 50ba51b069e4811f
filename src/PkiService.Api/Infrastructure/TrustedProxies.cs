using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace PkiService.Api.Infrastructure;

/// <summary>The <c>ForwardedHeaders</c> configuration section: which reverse proxies may tell us the client's address.</summary>
public sealed class TrustedProxyOptions
{
    public const string Section = "ForwardedHeaders";

    /// <summary>IP addresses of reverse proxies whose <c>X-Forwarded-For</c> is believed (<c>ForwardedHeaders:KnownProxies:0=10.0.0.5</c>).</summary>
    public string[] KnownProxies { get; set; } = [];

    /// <summary>Networks of such proxies in CIDR form (<c>ForwardedHeaders:KnownNetworks:0=10.0.0.0/24</c>).</summary>
    public string[] KnownNetworks { get; set; } = [];
}

/// <summary>
/// Reverse-proxy support: when <c>ForwardedHeaders:KnownProxies</c> or <c>ForwardedHeaders:KnownNetworks</c> is set,
/// ASP.NET Core's <see cref="ForwardedHeadersMiddleware"/> replaces the connection's remote address with the last
/// <c>X-Forwarded-For</c> entry, but only on connections from those proxies; the rate limits, the failed-authentication
/// throttle, the logs and the audit trail's client IP then see the client behind the proxy. Only <c>X-Forwarded-For</c>
/// is read (not <c>-Proto</c> or <c>-Host</c>: URLs come from <c>Pki:PublicBaseUrl</c>), one hop deep
/// (<see cref="ForwardedHeadersOptions.ForwardLimit"/> 1: the proxy appends the address it saw, and that is the one used).
/// <para>
/// ASP.NET Core trusts loopback proxies by default (127.0.0.0/8 and ::1); that default is cleared, because it would let
/// any local process, or any client when the proxy runs on the same host and passes the header through, pick the
/// address it is throttled and audited under. Nothing is trusted unless configured, and an unset section leaves
/// <c>X-Forwarded-For</c> ignored (also when <c>ASPNETCORE_FORWARDEDHEADERS_ENABLED</c> is set, which on its own would
/// trust every peer).
/// </para>
/// </summary>
public static class TrustedProxies
{
    public static WebApplicationBuilder AddTrustedProxies(this WebApplicationBuilder builder)
    {
        var settings = builder.Configuration.GetSection(TrustedProxyOptions.Section).Get<TrustedProxyOptions>() ?? new TrustedProxyOptions();
        var proxies = settings.KnownProxies.Select((value, i) => ParseProxy(value, $"{TrustedProxyOptions.Section}:KnownProxies:{i}")).ToList();
        var networks = settings.KnownNetworks.Select((value, i) => ParseNetwork(value, $"{TrustedProxyOptions.Section}:KnownNetworks:{i}")).ToList();
        builder.Services.AddSingleton(new TrustedProxySet(proxies, networks));
        // PostConfigure: runs after the host's own configuration (including the one ASPNETCORE_FORWARDEDHEADERS_ENABLED adds).
        builder.Services.PostConfigure<ForwardedHeadersOptions>(options =>
        {
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
#pragma warning disable ASPDEPR005 // the obsolete list still carries the 127.0.0.0/8 default; emptied so nothing is trusted twice
            options.KnownNetworks.Clear();
#pragma warning restore ASPDEPR005
            foreach (var proxy in proxies)
            {
                options.KnownProxies.Add(proxy);
            }
            foreach (var network in networks)
            {
                options.KnownIPNetworks.Add(network);
            }
            // Nothing configured: forward nothing (with empty lists the middleware would otherwise trust every peer).
            options.ForwardedHeaders = proxies.Count + networks.Count > 0 ? ForwardedHeaders.XForwardedFor : ForwardedHeaders.None;
            options.ForwardLimit = 1;
        });
        return builder;
    }

    /// <summary>
    /// Adds the middleware when proxies are configured; must come before anything that reads the client address. The
    /// connection's own peer address is recorded first (<see cref="TrustedProxySet.IsFromTrustedProxy"/>), because the
    /// forwarded-headers middleware then overwrites it with the <c>X-Forwarded-For</c> client.
    /// </summary>
    public static WebApplication UseTrustedProxies(this WebApplication app)
    {
        if (app.Services.GetRequiredService<TrustedProxySet>().Enabled)
        {
            app.Use((context, next) =>
            {
                context.Features.Set(new SocketPeerFeature(context.Connection.RemoteIpAddress));
                return next(context);
            });
            app.UseForwardedHeaders();
        }
        return app;
    }

    private static IPAddress ParseProxy(string value, string key) =>
        IPAddress.TryParse(value, out var address)
            ? address
            : throw new InvalidOperationException($"{key} = '{value}' is not an IP address; give the proxy's address, such as 10.0.0.5 or fd00::5.");

    private static System.Net.IPNetwork ParseNetwork(string value, string key) =>
        System.Net.IPNetwork.TryParse(value, out var network)
            ? network
            : throw new InvalidOperationException($"{key} = '{value}' is not a network; give it in CIDR form, such as 10.0.0.0/24.");

}

/// <summary>The configured reverse proxies (<see cref="TrustedProxyOptions"/>), for code that must know whether a connection comes from one.</summary>
public sealed class TrustedProxySet(IReadOnlyList<IPAddress> proxies, IReadOnlyList<System.Net.IPNetwork> networks)
{
    /// <summary>Whether any proxy is trusted.</summary>
    public bool Enabled { get; } = proxies.Count + networks.Count > 0;

    /// <summary>
    /// Whether the TCP peer of the request's connection (the socket address, not the address after
    /// <c>X-Forwarded-For</c> rewriting, which the client behind the proxy chooses) is a configured proxy.
    /// </summary>
    public bool IsFromTrustedProxy(HttpContext context) =>
        Enabled && context.Features.Get<SocketPeerFeature>()?.Address is { } peer && Contains(peer);

    /// <summary>Whether <paramref name="address"/> is a configured proxy or in a configured network (an IPv4-mapped IPv6 address as its IPv4 address).</summary>
    public bool Contains(IPAddress address)
    {
        var candidates = address.IsIPv4MappedToIPv6 ? new[] { address, address.MapToIPv4() } : [address];
        return candidates.Any(candidate => proxies.Any(proxy => proxy.Equals(candidate)) || networks.Any(network => network.Contains(candidate)));
    }
}

/// <summary>The request connection's own peer address, recorded before the forwarded-headers middleware rewrites it.</summary>
internal sealed record SocketPeerFeature(IPAddress? Address);
