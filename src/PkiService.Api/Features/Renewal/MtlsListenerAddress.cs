using System.Net;
using Microsoft.Extensions.Options;
using PkiService.Api.Infrastructure;
using PkiService.Core.Primitives;

namespace PkiService.Api.Features.Renewal;

/// <summary>
/// Where the mTLS renewal listener binds (<c>Pki:MtlsUrl</c>) and the names its server certificate carries: those of the
/// URL's host (DNS:localhost and IP:127.0.0.1 for a loopback host; the machine name too for a wildcard host) plus
/// <c>Pki:MtlsSans</c>.
/// </summary>
/// <summary>The configured mTLS listener, or none when <c>Pki:MtlsUrl</c> is empty (listener disabled).</summary>
public sealed record MtlsListenerSettings(MtlsListenerAddress? Address)
{
    public static MtlsListenerSettings FromOptions(IServiceProvider services) =>
        new(MtlsListenerAddress.Parse(services.GetRequiredService<IOptions<PkiOptions>>().Value));

    /// <summary>The address, for code that runs only when the listener is enabled.</summary>
    public MtlsListenerAddress Required =>
        Address ?? throw new InvalidOperationException("The mTLS listener is disabled (Pki:MtlsUrl is empty).");
}

public sealed record MtlsListenerAddress(string Url, int Port, string CommonName, IReadOnlyList<SubjectAltName> SubjectAltNames)
{
    public static MtlsListenerAddress? Parse(PkiOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.MtlsUrl))
        {
            return null;
        }
        BindingAddress address;
        try
        {
            address = BindingAddress.Parse(options.MtlsUrl.Trim());
        }
        catch (FormatException exception)
        {
            throw new InvalidOperationException($"Pki:MtlsUrl = '{options.MtlsUrl}' is not a URL; use https://host:port such as https://127.0.0.1:5443.", exception);
        }
        if (!string.Equals(address.Scheme, "https", StringComparison.OrdinalIgnoreCase) || address.IsUnixPipe || address.Port <= 0)
        {
            // Port 0 is refused: the listener is told apart from the --urls listeners by its port.
            throw new InvalidOperationException($"Pki:MtlsUrl = '{options.MtlsUrl}' must be https with a fixed port, such as https://127.0.0.1:5443.");
        }

        var names = new List<SubjectAltName>();
        var host = address.Host.Trim('[', ']');
        if (host is "*" or "+" || (IPAddress.TryParse(host, out var any) && (any.Equals(IPAddress.Any) || any.Equals(IPAddress.IPv6Any))))
        {
            names.Add(SubjectAltName.Classify(Dns.GetHostName()));
            AddLoopback(names);
        }
        else if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip)))
        {
            AddLoopback(names);
            if (IPAddress.TryParse(host, out var loopback))
            {
                names.Add(new SubjectAltName(SubjectAltNameKind.IpAddress, loopback.ToString()));
            }
        }
        else
        {
            names.Add(SubjectAltName.Classify(host));
        }
        names.AddRange(options.MtlsSans.Where(s => !string.IsNullOrWhiteSpace(s)).Select(SubjectAltName.Classify));
        var distinct = names.Distinct().ToList();
        var commonName = distinct.FirstOrDefault(n => n.Kind == SubjectAltNameKind.Dns)?.Value ?? distinct[0].Value;
        return new MtlsListenerAddress(address.ToString(), address.Port, commonName, distinct);
    }

    private static void AddLoopback(List<SubjectAltName> names)
    {
        names.Add(new SubjectAltName(SubjectAltNameKind.Dns, "localhost"));
        names.Add(new SubjectAltName(SubjectAltNameKind.IpAddress, IPAddress.Loopback.ToString()));
    }
}
