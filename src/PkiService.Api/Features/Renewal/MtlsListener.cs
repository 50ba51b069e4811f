using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;
using PkiService.Api.Infrastructure;
using PkiService.Core.Authorities;
using PkiService.Core.Errors;

namespace PkiService.Api.Features.Renewal;

/// <summary>
/// The second Kestrel listener, at <c>Pki:MtlsUrl</c>, that asks every client for a certificate and serves only the
/// endpoints marked <see cref="MtlsOnlyMetadata"/>.
/// <para>
/// Design: the listener is one more entry in the server's URL list, not an explicit <c>Listen</c> call, because any
/// explicit <c>Listen</c> makes Kestrel ignore <c>--urls</c>, and <c>--urls</c> must keep working as before. A startup
/// filter adds the URL after the host has filled the list from <c>--urls</c>/<c>urls</c>/the default (and after
/// WebApplicationFactory has replaced it), and <c>ConfigureEndpointDefaults</c> turns the endpoint with the mTLS port
/// into TLS with a per-handshake callback (so a renewed server certificate is picked up without a restart) and tags
/// its connections with <see cref="MtlsListenerFeature"/>. Requests are told apart by that connection feature, never by
/// the Host header (which the client chooses).
/// </para>
/// <para>
/// The handshake asks for a client certificate but accepts any, or none: the renew handler validates it against our
/// CA and database, so a missing, foreign, expired, revoked or superseded certificate gets a readable 401
/// (problem+json; text on the EST paths) instead of a bare TLS alert, and EST clients without a certificate can
/// enroll with a token on the same listener.
/// </para>
/// </summary>
public static class MtlsListener
{
    public static WebApplicationBuilder AddMtlsListener(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.Configure<RenewalOptions>(builder.Configuration.GetSection(RenewalOptions.Section));
        services.AddSingleton(MtlsListenerSettings.FromOptions);
        services.AddSingleton<MtlsListenerCertificate>();
        services.AddHostedService<MtlsListenerRenewalJob>();
        services.AddTransient<IStartupFilter, MtlsListenerStartupFilter>();
        services.AddOptions<KestrelServerOptions>().Configure<IServiceProvider>((kestrel, provider) =>
        {
            if (provider.GetRequiredService<MtlsListenerSettings>().Address is { } address)
            {
                kestrel.ConfigureEndpointDefaults(listen => ConfigureIfMtls(listen, address));
            }
        });
        return builder;
    }

    /// <summary>
    /// Serves an endpoint only on the listener it belongs to: a <see cref="MtlsOnlyMetadata"/> endpoint only on the mTLS
    /// listener (404 elsewhere), and nothing else there (404). An endpoint that also carries
    /// <see cref="AlsoBehindTrustedProxyMetadata"/> is served on the plain listener too once reverse proxies are trusted
    /// (<c>ForwardedHeaders:KnownProxies</c> / <c>KnownNetworks</c>); who may use it there is
    /// <see cref="Issuance.ClientCertificateSource"/>'s call.
    /// </summary>
    public static WebApplication UseMtlsListenerGate(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            var onMtlsListener = context.Features.Get<MtlsListenerFeature>() is not null;
            var metadata = context.GetEndpoint()?.Metadata;
            var mtlsOnly = metadata?.GetMetadata<MtlsOnlyMetadata>() is not null;
            // Behind a TLS-terminating proxy the proxy's plain connections carry the client certificate in a header.
            var proxied = metadata?.GetMetadata<AlsoBehindTrustedProxyMetadata>() is not null
                && context.RequestServices.GetRequiredService<TrustedProxySet>().Enabled;
            if (mtlsOnly && !onMtlsListener && !proxied)
            {
                var url = context.RequestServices.GetRequiredService<MtlsListenerSettings>().Address?.Url;
                throw new NotFoundException(url is null
                    ? $"{context.Request.Path} is served only on the mTLS listener, which is disabled here (Pki:MtlsUrl is empty)."
                    : $"{context.Request.Path} is served only on the mTLS listener at {url}; connect there with your current certificate.");
            }
            if (onMtlsListener && !mtlsOnly)
            {
                throw new NotFoundException($"The mTLS listener serves only POST /api/v1/renew and EST (/.well-known/est/); {context.Request.Path} is on the plain listener.");
            }
            await next(context);
        });
        return app;
    }

    /// <summary>Kestrel calls this for each endpoint it binds; only the one on the mTLS port is changed.</summary>
    private static void ConfigureIfMtls(ListenOptions listen, MtlsListenerAddress address)
    {
        if (listen.IPEndPoint?.Port != address.Port)
        {
            return;
        }
        listen.Use(next => connection =>
        {
            connection.Features.Set(MtlsListenerFeature.Instance);
            return next(connection);
        });
        var caCertificates = new Lazy<(X509Certificate2 Root, X509Certificate2[] Chain)>(() =>
        {
            var hierarchy = listen.ApplicationServices.GetRequiredService<CaHierarchy>();
            return (X509CertificateLoader.LoadCertificate(hierarchy.Root.Der),
                [.. hierarchy.ChainDer.Select(X509CertificateLoader.LoadCertificate)]);
        });
        listen.UseHttps(new TlsHandshakeCallbackOptions
        {
            OnConnection = async context =>
            {
                var serverCertificate = await listen.ApplicationServices.GetRequiredService<MtlsListenerCertificate>()
                    .GetContextAsync(context.CancellationToken);
                return new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = serverCertificate,
                    // RFC 8446 4.3.2: send a CertificateRequest; whether the answer is acceptable is the endpoint's call.
                    ClientCertificateRequired = true,
                    RemoteCertificateValidationCallback = static (_, _, _, _) => true,
                    CertificateChainPolicy = ClientChainPolicy(caCertificates.Value.Root, caCertificates.Value.Chain),
                };
            },
        });
    }

    /// <summary>
    /// The policy SslStream builds the client's chain with during the handshake (its result is only reported: the
    /// endpoint decides). Without one, .NET 10's server side follows the client certificate's AIA caIssuers URL to fetch
    /// a missing intermediate: any client could make the listener resolve and connect to a host of its choosing, and a
    /// slow one holds the handshake until Kestrel's handshake timeout. So: our CAs only, nothing fetched, no revocation
    /// fetching (revocation is checked against our own database by the endpoint).
    /// </summary>
    internal static X509ChainPolicy ClientChainPolicy(X509Certificate2 root, IEnumerable<X509Certificate2> chain)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.Add(root);
        policy.ExtraStore.AddRange(chain.ToArray());
        return policy;
    }

    private sealed class MtlsListenerStartupFilter(IServer server, MtlsListenerSettings settings) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next)
        {
            var address = settings.Address;
            var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses;
            if (address is not null && addresses is { IsReadOnly: false } && !addresses.Contains(address.Url))
            {
                // Listed first, so the plain listener stays the last (primary) address that logs and test hosts report.
                var others = addresses.ToList();
                addresses.Clear();
                addresses.Add(address.Url);
                foreach (var other in others)
                {
                    addresses.Add(other);
                }
            }
            return next;
        }
    }
}

/// <summary>Marks the connections accepted by the mTLS listener.</summary>
public sealed class MtlsListenerFeature
{
    public static readonly MtlsListenerFeature Instance = new();
}

/// <summary>Endpoint metadata: served only on the mTLS listener.</summary>
public sealed class MtlsOnlyMetadata
{
    public static readonly MtlsOnlyMetadata Instance = new();
}

/// <summary>
/// Endpoint metadata, with <see cref="MtlsOnlyMetadata"/>: also served on the plain listener when reverse proxies are
/// trusted, for a TLS-terminating proxy that forwards the client certificate (<see cref="Issuance.ClientCertificateSource"/>).
/// </summary>
public sealed class AlsoBehindTrustedProxyMetadata
{
    public static readonly AlsoBehindTrustedProxyMetadata Instance = new();
}
