using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace PkiService.AspNetCore.ServerCertificates;

/// <summary>This API's own server certificate, enrolled from <c>PkiClient:EnrollmentToken</c> and renewed over mTLS.</summary>
internal static class ServerCertificateRegistration
{
    public static IServiceCollection AddPkiServerCertificate(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ServerCertificateSource>();
        services.TryAddSingleton<ServerCertificateClient>();
        services.AddHostedService<ServerCertificateRenewal>();
        services.AddHealthChecks().AddCheck<ServerCertificateHealthCheck>(ServerCertificateHealthCheck.Name);
        return services;
    }

    /// <summary>
    /// With <c>PkiClient:EnrollmentToken</c> set: every HTTPS endpoint serves the enrolled certificate with its issuing CA,
    /// read at each handshake (so a renewed one is used without a restart). Without it, Kestrel's own certificate
    /// configuration applies unchanged.
    /// </summary>
    public static void UsePkiServerCertificate(this HttpsConnectionAdapterOptions https, IServiceProvider services)
    {
        if (services.GetRequiredService<IOptions<PkiClientOptions>>().Value.EnrollmentToken is not { Length: > 0 })
        {
            return;
        }
        var source = services.GetRequiredService<ServerCertificateSource>();
        // The selector tells Kestrel a certificate is provided (it then looks for no other); the per-handshake options
        // then carry the full context instead, because a selector's certificate is sent without the issuing CA.
        https.ServerCertificateSelector = (_, _) => source.SelectCertificate();
        var previous = https.OnAuthenticate;
        https.OnAuthenticate = (connection, tls) =>
        {
            previous?.Invoke(connection, tls);
            if (source.SelectContext() is { } context)
            {
                tls.ServerCertificateSelectionCallback = null;
                tls.ServerCertificate = null;
                tls.ServerCertificateContext = context;
            }
        };
    }
}
