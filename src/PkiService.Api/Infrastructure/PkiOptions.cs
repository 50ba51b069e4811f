using PkiService.Core.Authorities;

namespace PkiService.Api.Infrastructure;

/// <summary>The <c>Pki</c> configuration section.</summary>
public sealed class PkiOptions
{
    public const string Section = "Pki";

    /// <summary>Database, encrypted CA keys and generated secrets. Created mode 0700; files in it are 0600.</summary>
    public string DataDirectory { get; set; } = "./data";

    /// <summary>Base of the CDP and AIA URLs written into every certificate.</summary>
    public string PublicBaseUrl { get; set; } = "http://127.0.0.1:5080";

    /// <summary>Encrypts CA private keys at rest. When unset, one is generated into the data directory.</summary>
    public string? KeyPassphrase { get; set; }

    /// <summary>Root CA key algorithm.</summary>
    public CaKeyAlgorithm RootKeyAlgorithm { get; set; } = CaKeyAlgorithm.EcdsaP384;

    /// <summary>Issuing CA key algorithm.</summary>
    public CaKeyAlgorithm IssuingKeyAlgorithm { get; set; } = CaKeyAlgorithm.EcdsaP256;

    /// <summary>Root CA subject distinguished name.</summary>
    public string RootSubject { get; set; } = "O=PkiService,CN=PkiService Root CA";

    /// <summary>Issuing CA subject distinguished name.</summary>
    public string IssuingSubject { get; set; } = "O=PkiService,CN=PkiService Issuing CA";

    /// <summary>
    /// Where the CA keys live: <c>File</c> (the default: encrypted PKCS#8 in the data directory, or in the database with
    /// <c>Postgres</c>) or <c>Pkcs11</c> (generated in and never leaving the token the <c>Pkcs11</c> section names).
    /// </summary>
    public string KeyStore { get; set; } = "File";

    /// <summary>PBKDF2 iterations protecting the CA keys (PBES2 with AES-256-CBC).</summary>
    public int KeyEncryptionIterations { get; set; } = 210_000;

    /// <summary>
    /// The mTLS listener that serves POST /api/v1/renew (https, fixed port). Empty disables it. It is added to the
    /// <c>--urls</c> listeners, which keep serving everything else unchanged.
    /// </summary>
    public string MtlsUrl { get; set; } = "https://127.0.0.1:5443";

    /// <summary>Extra SANs for the mTLS listener's server certificate, besides the names derived from <see cref="MtlsUrl"/>.</summary>
    public string[] MtlsSans { get; set; } = [];

    /// <summary>The data directory as an absolute path.</summary>
    public string DataDirectoryFullPath => Path.GetFullPath(DataDirectory);
}

/// <summary>The <c>Admin</c> configuration section.</summary>
public sealed class AdminOptions
{
    public const string Section = "Admin";

    /// <summary>A configured <see cref="BootstrapApiKey"/> shorter than this stops the start (generated keys have 50).</summary>
    public const int MinimumBootstrapApiKeyLength = 32;

    /// <summary>
    /// The first admin API key, at least <see cref="MinimumBootstrapApiKeyLength"/> characters. When unset, a random one
    /// is written to <c>&lt;data&gt;/admin-api-key</c>.
    /// </summary>
    public string? BootstrapApiKey { get; set; }
}
