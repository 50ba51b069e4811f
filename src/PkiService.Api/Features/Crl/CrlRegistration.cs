using Microsoft.Extensions.DependencyInjection.Extensions;
using PkiService.Api.Infrastructure;
using PkiService.Api.Revocation;

namespace PkiService.Api.Features.Crl;

/// <summary>The CRL feature's services, registered by the feature itself.</summary>
public static class CrlRegistration
{
    /// <summary>
    /// <c>Crl</c> options, the <see cref="CrlPublisher"/> (told of every status change, so a revocation is listed before
    /// the revoke call answers) and the job that re-issues the CRLs before nextUpdate; on a shared database, the CRL
    /// builder lease, the job that renews or takes it over and polls the published CRLs, and the <c>pki_crl</c> follower.
    /// </summary>
    public static WebApplicationBuilder AddCrl(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.Configure<CrlOptions>(builder.Configuration.GetSection(CrlOptions.Section));
        services.AddSingleton<CrlPublisher>();
        services.AddCertificateStatusSubscriber<CrlPublisher>();
        services.AddClusterNotificationSubscriber<CrlPublisher>();
        services.TryAddSingleton<NodeInstance>();
        services.AddSingleton<CrlBuilderLease>();
        services.AddHostedService<CrlRefreshJob>();
        services.AddHostedService<CrlClusterJob>();
        services.AddSingleton<IPkiGauges, CrlGauges>();
        return builder;
    }
}
