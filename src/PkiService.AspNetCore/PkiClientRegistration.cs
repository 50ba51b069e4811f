using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using PkiService.AspNetCore.ServerCertificates;

namespace PkiService.AspNetCore;

/// <summary>
/// The package's two calls: <see cref="AddPkiClient"/> on the services and <see cref="UsePkiClient"/> on the web host.
/// </summary>
/// <example>
/// <code>
/// builder.Services.AddPkiClient(builder.Configuration);
/// builder.WebHost.UsePkiClient();
/// </code>
/// </example>
public static class PkiClientRegistration
{
    /// <summary>
    /// Registers trust (pinned root), revocation checking, the certificate-to-claims authentication, the named
    /// authorization policies, the per-request check, the health check and metrics, and (when
    /// <c>PkiClient:EnrollmentToken</c> is set) this API's own server certificate, from the <c>PkiClient</c> section.
    /// </summary>
    public static IServiceCollection AddPkiClient(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<PkiClientOptions>().Bind(configuration.GetSection(PkiClientOptions.SectionName));
        services.AddClientCertificateChecks();
        services.AddPkiServerCertificate();
        return services;
    }

    /// <summary>
    /// Makes every HTTPS endpoint of Kestrel require a client certificate checked against PkiService's chain and
    /// revocation data at the handshake, and (when enrolled) serve this API's own server certificate.
    /// </summary>
    public static IWebHostBuilder UsePkiClient(this IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.ConfigureKestrel((context, kestrel) => kestrel.ConfigureHttpsDefaults(https =>
        {
            var services = kestrel.ApplicationServices;
            https.UseClientCertificateValidation(services);
            https.UsePkiServerCertificate(services);
        }));
    }
}
