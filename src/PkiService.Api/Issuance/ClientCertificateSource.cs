using System.Security.Cryptography;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Options;
using PkiService.Api.Infrastructure;

namespace PkiService.Api.Issuance;

/// <summary>
/// Where the certificate a client renews with comes from, for every renewal front end (REST <c>POST /api/v1/renew</c>,
/// EST <c>simplereenroll</c>). It only finds the certificate; <see cref="CertificateRenewal"/> then verifies it against
/// our chain and database the same way whichever source it came from.
/// <list type="bullet">
/// <item>On a TLS connection (the mTLS listener, or an https <c>--urls</c> listener): the TLS client certificate, and nothing else.</item>
/// <item>On a plain connection whose TCP peer is a trusted proxy (<c>ForwardedHeaders:KnownProxies</c> /
/// <c>KnownNetworks</c>; the socket address, not the <c>X-Forwarded-For</c> one): the certificate the proxy verified in
/// its own TLS handshake and forwards in <c>Renewal:ForwardedCertificateHeader</c> as URL-escaped PEM (nginx's
/// <c>$ssl_client_escaped_cert</c>).</item>
/// <item>Anywhere else: none, whatever headers the request carries (the header is ignored, the renewal gets 401).</item>
/// </list>
/// The proxy proves only that its client holds the key of the certificate it forwards; that is why the header is
/// believed from nowhere but the configured proxies, which must clear it from their clients' requests.
/// </summary>
public sealed partial class ClientCertificateSource(TrustedProxySet proxies, IOptions<RenewalKeyOptions> options, ILogger<ClientCertificateSource> logger)
{
    /// <summary>
    /// Longest forwarded header accepted, in characters: a URL-escaped PEM certificate is about 1.4 times its DER
    /// (RSA 4096 with long names: under 4 KiB), so 16 KiB leaves room and bounds what is decoded.
    /// </summary>
    public const int MaxForwardedHeaderChars = 16 * 1024;

    /// <summary>The client certificate (DER), or null when the request has none that may be believed.</summary>
    /// <exception cref="AuthenticationFailedException">A trusted proxy forwarded something that is not one PEM certificate.</exception>
    public async Task<byte[]?> GetAsync(HttpContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        // ITlsHandshakeFeature, set by Kestrel on TLS connections only (an ITlsConnectionFeature appears on any connection
        // once something reads Connection.ClientCertificate).
        if (context.Features.Get<ITlsHandshakeFeature>() is not null)
        {
            return (await context.Connection.GetClientCertificateAsync(cancellationToken))?.RawData;
        }
        var header = options.Value.ForwardedCertificateHeader;
        var values = context.Request.Headers[header];
        if (values.Count == 0)
        {
            return null;
        }
        if (!proxies.IsFromTrustedProxy(context))
        {
            LogIgnored(logger, header, context.Features.Get<SocketPeerFeature>()?.Address?.ToString() ?? context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
            return null;
        }
        if (values.Count > 1)
        {
            throw Malformed(header, "it was sent more than once");
        }
        var value = values[0] ?? string.Empty;
        if (value.Length == 0)
        {
            return null; // nginx's $ssl_client_escaped_cert is empty when its client sent no certificate
        }
        if (value.Length > MaxForwardedHeaderChars)
        {
            throw Malformed(header, $"it is longer than {MaxForwardedHeaderChars} characters");
        }
        var pem = Uri.UnescapeDataString(value);
        if (!PemEncoding.TryFind(pem, out var fields) || !pem.AsSpan()[fields.Label].SequenceEqual(PemLabels.Certificate))
        {
            throw Malformed(header, "it holds no URL-escaped PEM certificate");
        }
        var der = new byte[fields.DecodedDataLength];
        if (!Convert.TryFromBase64Chars(pem.AsSpan()[fields.Base64Data], der, out var written))
        {
            throw Malformed(header, "its PEM is not base64");
        }
        return der[..written];
    }

    private AuthenticationFailedException Malformed(string header, string why)
    {
        LogMalformed(logger, header, why);
        return new AuthenticationFailedException(
            $"The client certificate forwarded by the proxy in {header} cannot be read: {why}; the proxy must forward the verified client certificate as URL-escaped PEM (nginx: proxy_set_header {header} $ssl_client_escaped_cert).");
    }

    private static class PemLabels
    {
        public const string Certificate = "CERTIFICATE";
    }

    [LoggerMessage(EventId = 8020, EventName = "ForwardedCertificateIgnored", Level = LogLevel.Warning,
        Message = "Ignored the {Header} header from {Peer}, which is not a trusted proxy (ForwardedHeaders:KnownProxies / KnownNetworks)")]
    private static partial void LogIgnored(ILogger logger, string header, string peer);

    [LoggerMessage(EventId = 8021, EventName = "ForwardedCertificateMalformed", Level = LogLevel.Warning,
        Message = "Refused the client certificate a trusted proxy forwarded in {Header}: {Reason}")]
    private static partial void LogMalformed(ILogger logger, string header, string reason);
}
