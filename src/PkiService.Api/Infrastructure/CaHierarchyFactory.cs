using PkiService.Core.Authorities;
using PkiService.Core.Issuance;

namespace PkiService.Api.Infrastructure;

/// <summary>Loads (or on first start creates) the CA hierarchy once, when the host starts.</summary>
public static class CaHierarchyFactory
{
    public static CaHierarchy Create(IServiceProvider services)
    {
        var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<PkiOptions>>().Value;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("PkiService.CaHierarchy");
        DataDirectory.Ensure(options.DataDirectoryFullPath);
        var passphrase = CaKeyPassphrase.Resolve(options, logger);
        var hierarchyOptions = new CaHierarchyOptions
        {
            RootSubject = options.RootSubject,
            IssuingSubject = options.IssuingSubject,
            RootAlgorithm = options.RootKeyAlgorithm,
            IssuingAlgorithm = options.IssuingKeyAlgorithm,
            PublicBaseUrl = options.PublicBaseUrl,
            KeyEncryptionIterations = options.KeyEncryptionIterations,
        };
        return CaHierarchy.LoadOrCreate(
            new FileCaKeyStore(options.DataDirectoryFullPath),
            hierarchyOptions,
            passphrase,
            services.GetRequiredService<TimeProvider>(),
            logger);
    }

    public static IssuingAuthority CreateIssuingAuthority(IServiceProvider services)
    {
        var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<PkiOptions>>().Value;
        return new IssuingAuthority(
            services.GetRequiredService<CaHierarchy>().Issuing,
            PublicationPoints.ForIssuingCa(options.PublicBaseUrl),
            services.GetRequiredService<TimeProvider>());
    }
}
