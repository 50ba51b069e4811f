using Microsoft.Extensions.Options;
using PkiService.Core.Authorities;
using PkiService.Core.Issuance;

namespace PkiService.Api.Infrastructure;

/// <summary>Loads (or on the first start of the first node creates) the CA hierarchy once, when the host starts.</summary>
public static class CaHierarchyFactory
{
    public static CaHierarchy Create(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<PkiOptions>>().Value;
        var vault = services.GetRequiredService<CaKeyVault>();
        var hierarchyOptions = new CaHierarchyOptions
        {
            RootSubject = options.RootSubject,
            IssuingSubject = options.IssuingSubject,
            RootAlgorithm = options.RootKeyAlgorithm,
            IssuingAlgorithm = options.IssuingKeyAlgorithm,
            PublicBaseUrl = options.PublicBaseUrl,
        };
        try
        {
            vault.RefuseCaKeysLeftInSoftwareStore();
        }
        catch (StartupConfigurationException)
        {
            // The start stops: let go of the token now (C_Finalize once no one else holds the module), not at a
            // disposal of the host that a start which never finished may not get.
            vault.Dispose();
            throw;
        }
        // Under the cluster-wide lock: the first of several nodes starting at once creates the hierarchy, the others load it.
        try
        {
            return vault.Exclusive(() => CaHierarchy.LoadOrCreate(
                vault.Keys,
                hierarchyOptions,
                services.GetRequiredService<TimeProvider>(),
                services.GetRequiredService<ILoggerFactory>().CreateLogger("PkiService.CaHierarchy"),
                vault.Certificates));
        }
        catch (IssuingCaNotInstalledException exception)
        {
            throw new StartupConfigurationException(exception.Message, exception);
        }
    }

    public static IssuingAuthority CreateIssuingAuthority(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<PkiOptions>>().Value;
        return new IssuingAuthority(
            services.GetRequiredService<CaHierarchy>().Issuing,
            PublicationPoints.ForIssuingCa(options.PublicBaseUrl),
            services.GetRequiredService<TimeProvider>());
    }
}
