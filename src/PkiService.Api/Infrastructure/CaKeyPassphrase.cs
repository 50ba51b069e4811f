using System.Security.Cryptography;
using PkiService.Persistence;

namespace PkiService.Api.Infrastructure;

/// <summary>Resolves the passphrase that encrypts CA keys: configured, or generated once into the data directory.</summary>
public static partial class CaKeyPassphrase
{
    public const string FileName = "key-passphrase";

    /// <summary>
    /// The configured passphrase, or (one node on its own database only) the one generated into the data directory. Nodes
    /// sharing a database must all be given the same passphrase: a file of one node's own would lock out the others, and
    /// the data directory must hold nothing a node cannot lose.
    /// </summary>
    public static string Resolve(PkiOptions options, IPkiDatabase database, ILogger logger)
    {
        if (!string.IsNullOrEmpty(options.KeyPassphrase))
        {
            return options.KeyPassphrase;
        }
        if (database.IsShared)
        {
            throw new StartupConfigurationException(
                $"Pki:KeyPassphrase is not set; with {PkiDatabaseRegistration.ProviderKey}={database.ProviderName} the CA keys live in the " +
                "database encrypted under it, so set the same passphrase on every node (from a secret store).");
        }
        var path = Path.Combine(options.DataDirectoryFullPath, FileName);
        var (passphrase, created) = DataDirectory.ReadOrCreateSecret(path, () => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        LogGeneratedPassphrase(logger, path, created ? "generated" : "read");
        return passphrase;
    }

    [LoggerMessage(EventId = 1010, EventName = "KeyPassphraseFromFile", Level = LogLevel.Warning,
        Message = "Pki:KeyPassphrase is not set; the CA key passphrase was {Action} at {Path}. Anyone who can read that file and the keys beside it can sign as this CA: set Pki:KeyPassphrase from a secret store in production.")]
    private static partial void LogGeneratedPassphrase(ILogger logger, string path, string action);
}
