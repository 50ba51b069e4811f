namespace PkiService.KeyStore.Pkcs11;

/// <summary>
/// Where the PKCS#11 key store finds its module and token (configuration section <c>Pkcs11</c>, used when
/// <c>Pki:KeyStore</c> is <c>Pkcs11</c>).
/// </summary>
public sealed class Pkcs11Options
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Pkcs11";

    /// <summary>Path of the PKCS#11 module (<c>Pkcs11:Library</c>), e.g. SoftHSM2's <c>/usr/lib/softhsm/libsofthsm2.so</c>.</summary>
    public string Library { get; set; } = "";

    /// <summary>Label of the token that holds the CA keys (<c>Pkcs11:TokenLabel</c>), as given to <c>softhsm2-util --init-token --label</c>.</summary>
    public string TokenLabel { get; set; } = "";

    /// <summary>The token's user PIN (<c>Pkcs11:Pin</c>): a secret, from the environment or a secret store; never logged.</summary>
    public string Pin { get; set; } = "";

    /// <summary>
    /// At most this many PKCS#11 sessions sign at once (<c>Pkcs11:SessionPoolSize</c>); further signatures wait for a
    /// free session. A session runs one operation at a time, so this bounds the token's parallelism.
    /// </summary>
    public int SessionPoolSize { get; set; } = 8;
}
