using PkiService.Api.Infrastructure;
using PkiService.Api.Revocation;
using PkiService.Core.Ocsp;

namespace PkiService.Api.Features.Ocsp;

/// <summary>The OCSP feature's services, registered by the feature itself.</summary>
public static class OcspRegistration
{
    /// <summary>
    /// <c>Ocsp</c> options, the database status source, the response cache (told of every status change, so a
    /// revoked certificate's cached <c>good</c> is dropped at once), the responders and the responder renewal job.
    /// </summary>
    public static WebApplicationBuilder AddOcsp(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.Configure<OcspOptions>(builder.Configuration.GetSection(OcspOptions.Section));
        services.AddSingleton<ICertificateStatusSource, DatabaseCertificateStatusSource>();
        services.AddSingleton<OcspResponseCache>();
        services.AddCertificateStatusSubscriber<OcspResponseCache>();
        services.AddSingleton<OcspResponderSet>();
        services.AddSingleton<OcspRequestAnswerer>();
        services.AddHostedService<OcspResponderRenewalJob>();
        services.AddSingleton<IPkiGauges, OcspGauges>();
        return builder;
    }
}
