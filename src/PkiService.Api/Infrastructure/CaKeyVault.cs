using Microsoft.Extensions.Options;
using PkiService.Core.Authorities;

namespace PkiService.Api.Infrastructure;

/// <summary>Where CA and OCSP responder keys are stored, and the passphrase and PBKDF2 cost that protect them.</summary>
public sealed record CaKeyVault(ICaKeyStore Store, string Passphrase, int Iterations)
{
    public static CaKeyVault Create(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<PkiOptions>>().Value;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("PkiService.CaKeys");
        DataDirectory.Ensure(options.DataDirectoryFullPath);
        return new CaKeyVault(
            new FileCaKeyStore(options.DataDirectoryFullPath),
            CaKeyPassphrase.Resolve(options, logger),
            options.KeyEncryptionIterations);
    }
}
