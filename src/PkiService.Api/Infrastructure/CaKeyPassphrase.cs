using System.Security.Cryptography;

namespace PkiService.Api.Infrastructure;

/// <summary>Resolves the passphrase that encrypts CA keys: configured, or generated once into the data directory.</summary>
public static partial class CaKeyPassphrase
{
    public const string FileName = "key-passphrase";

    public static string Resolve(PkiOptions options, ILogger logger)
    {
        if (!string.IsNullOrEmpty(options.KeyPassphrase))
        {
            return options.KeyPassphrase;
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
