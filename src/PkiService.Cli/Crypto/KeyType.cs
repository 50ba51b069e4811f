namespace PkiService.Cli.Crypto;

/// <summary>The key types <c>pki enroll --key-type</c> offers; all are accepted by the service's CSR checks.</summary>
public enum KeyType
{
    P256,
    P384,
    Rsa2048,
    Ed25519,
}

public static class KeyTypes
{
    public static readonly string[] Names = ["p256", "p384", "rsa2048", "ed25519"];

    public static KeyType Parse(string name) => name.ToLowerInvariant() switch
    {
        "p256" => KeyType.P256,
        "p384" => KeyType.P384,
        "rsa2048" => KeyType.Rsa2048,
        "ed25519" => KeyType.Ed25519,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown key type"),
    };
}
