using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;

namespace PkiService.AspNetCore;


/// <summary>Client certificate checks: trust, revocation, claims, policies, refusals (folders Trust/, Revocation/, Identity/, Authorization/).</summary>
internal static class ClientCertificateChecks
{
    public static IServiceCollection AddPkiClientCertificateChecks(this IServiceCollection services) =>
        services.AddClientCertificateChecks();

    public static void UsePkiClientCertificateValidation(this HttpsConnectionAdapterOptions https, IServiceProvider services) =>
        https.UseClientCertificateValidation(services);
}
