using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PkiService.AspNetCore.Authorization;
using PkiService.AspNetCore.Diagnostics;
using PkiService.AspNetCore.Identity;
using PkiService.AspNetCore.Refusals;
using PkiService.AspNetCore.Revocation;
using PkiService.AspNetCore.Service;
using PkiService.AspNetCore.Trust;

namespace PkiService.AspNetCore;

/// <summary>The registrations of the client certificate checks (trust, revocation, identity, policies, refusals, health).</summary>
internal static class ClientCertificateCheckRegistration
{
    public static IServiceCollection AddClientCertificateChecks(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddSingleton<IConfigureOptions<PkiClientOptions>, ScalarRuleBinding>();
        services.AddSingleton(provider => PkiClientSettings.From(provider.GetRequiredService<IOptions<PkiClientOptions>>().Value));
        services.AddSingleton(provider => new PkiServiceClient(provider.GetRequiredService<PkiClientSettings>().ServiceUrl));
        services.AddSingleton<TrustAnchorStore>();
        services.AddSingleton<PkiClientMetrics>();
        services.AddSingleton<ClientCertificateRefusals>();
        services.AddSingleton(provider => new RevokedSet(
            provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<PkiClientSettings>().MaxRevokedSerials));
        services.AddSingleton<IRevocationChecker>(provider =>
        {
            var settings = provider.GetRequiredService<PkiClientSettings>();
            return settings.Revocation switch
            {
                PkiRevocationMode.Push or PkiRevocationMode.Crl => new LocalSetRevocationChecker(
                    provider.GetRequiredService<RevokedSet>(), settings.Revocation, provider.GetRequiredService<TimeProvider>()),
                PkiRevocationMode.Ocsp => ActivatorUtilities.CreateInstance<OcspRevocationChecker>(provider),
                _ => new NoRevocationChecker(),
            };
        });
        services.AddSingleton<ClientCertificateValidator>();
        // Start-up (trust anchors, first CRL) before the server; then the follower keeps the revoked set current.
        services.AddHostedService<PkiClientStartup>();
        services.AddHostedService<RevocationFollower>();
        services.AddTransient<IStartupFilter, ClientCertificateRequestCheckStartupFilter>();

        services.AddAuthentication(PkiAuthenticationDefaults.Scheme)
            .AddScheme<AuthenticationSchemeOptions, PkiCertificateAuthenticationHandler>(PkiAuthenticationDefaults.Scheme, displayName: "PkiService client certificate", configureOptions: null);
        services.AddAuthorization();
        services.AddSingleton<IConfigureOptions<AuthorizationOptions>, PkiAuthorizationPolicies>();
        services.AddSingleton<IAuthorizationHandler, PkiPolicyHandler>();
        services.AddHealthChecks().AddCheck<RevocationHealthCheck>(RevocationHealthCheck.Name);
        return services;
    }

    /// <summary>
    /// Kestrel asks every client for a certificate and validates it with <see cref="ClientCertificateValidator"/>
    /// (pinned root only, clientAuth, validity, revocation); a refusal fails the TLS handshake.
    /// </summary>
    public static void UseClientCertificateValidation(this HttpsConnectionAdapterOptions https, IServiceProvider services)
    {
        https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
        https.CheckCertificateRevocation = false;
        var validator = new Lazy<ClientCertificateValidator>(services.GetRequiredService<ClientCertificateValidator>);
        https.ClientCertificateValidation = (certificate, chain, errors) => validator.Value.ValidateHandshake(certificate, chain, errors);
        // The chain SslStream builds before that callback: without a policy, .NET 10's server side follows the client
        // certificate's AIA caIssuers URL to fetch a missing intermediate, so any client could make this API resolve and
        // connect to a host of its choosing and hold the handshake while it answers slowly. The validator builds its own
        // chain from the pinned root; this one only must not reach the network.
        var previous = https.OnAuthenticate;
        https.OnAuthenticate = (connection, ssl) =>
        {
            previous?.Invoke(connection, ssl);
            ssl.CertificateChainPolicy ??= new X509ChainPolicy();
            ssl.CertificateChainPolicy.DisableCertificateDownloads = true;
            ssl.CertificateChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        };
    }
}
