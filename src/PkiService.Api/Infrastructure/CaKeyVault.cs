using Microsoft.Extensions.Options;
using PkiService.Core.Authorities;
using PkiService.Persistence;
using PkiService.Persistence.Stores;
using PkiService.KeyStore.Pkcs11;

namespace PkiService.Api.Infrastructure;

/// <summary>
/// Where CA and OCSP responder keys are stored, where this node's own keys are stored, and the passphrase and PBKDF2
/// cost that protect them.
/// </summary>
public sealed class CaKeyVault : IDisposable
{
    private readonly IPkiDatabase _database;

    private readonly string _dataDirectory;

    private CaKeyVault(
        ICaKeyStore store, ICaKeyStore nodeStore, string dataDirectory, string passphrase, int iterations, IPkiDatabase database, ICaKeyProvider? caKeys,
        bool responderKeysInToken)
    {
        _dataDirectory = dataDirectory;
        Store = store;
        NodeStore = nodeStore;
        Passphrase = passphrase;
        Iterations = iterations;
        var software = new FileCaKeyProvider(store, passphrase, iterations);
        Keys = caKeys ?? software;
        ResponderKeys = responderKeysInToken ? Keys : software;
        NodeKeys = new FileCaKeyProvider(nodeStore, passphrase, iterations);
        _database = database;
    }

    /// <summary>
    /// The delegated OCSP responders' keys: by default in software, in <see cref="Store"/>, whatever holds the CA keys
    /// (that is what delegated responders are for: many signatures a second, a short-lived certificate); in the token
    /// too with <c>Pkcs11:OcspResponderKeys=Token</c>, at the token's signing speed.
    /// </summary>
    public ICaKeyProvider ResponderKeys { get; }

    /// <summary>This node's own keys (the mTLS listener's), in software, in <see cref="NodeStore"/>.</summary>
    public ICaKeyProvider NodeKeys { get; }

    /// <summary>
    /// The CA keys (<c>Pki:KeyStore</c>): create or find a named key that signs; <c>File</c> keeps them in
    /// <see cref="Store"/>, <c>Pkcs11</c> in the token.
    /// </summary>
    public ICaKeyProvider Keys { get; }

    /// <summary>
    /// The CA certificates and keys and the OCSP responder certificates, which every node must agree on: the database
    /// when nodes share it (<see cref="IPkiDatabase.IsShared"/>), otherwise the data directory.
    /// </summary>
    public ICaKeyStore Store { get; }

    /// <summary>
    /// Certificates kept without a key (an external root and its intermediates, <see cref="CaHierarchy.ChainName"/>), in
    /// <see cref="Store"/> whatever holds the keys: with <c>Pkcs11</c> too, so every node serves the same chain.
    /// </summary>
    public ICaCertificateStore Certificates => (ICaCertificateStore)Store;

    /// <summary>What belongs to this node alone (the mTLS listener's certificate for its own host names): the data directory.</summary>
    public ICaKeyStore NodeStore { get; }

    public string Passphrase { get; }

    public int Iterations { get; }

    /// <summary>
    /// Runs a load-or-create on <see cref="Store"/> under the cluster-wide CA key lock, so that nodes starting (or renewing)
    /// at once create a key once and the others load it. No lock is needed when the database is not shared.
    /// </summary>
    public T Exclusive<T>(Func<T> loadOrCreate) => _database.RunExclusive(ClusterLock.CaKeys, loadOrCreate);

    public static CaKeyVault Create(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<PkiOptions>>().Value;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("PkiService.CaKeys");
        var database = services.GetRequiredService<IPkiDatabase>();
        DataDirectory.Ensure(options.DataDirectoryFullPath);
        var nodeStore = new FileCaKeyStore(options.DataDirectoryFullPath);
        ICaKeyStore store = database.IsShared
            ? new DatabaseCaKeyStore(services.GetRequiredService<IServiceScopeFactory>(), services.GetRequiredService<TimeProvider>())
            : nodeStore;
        var caKeys = OpenCaKeys(options, services.GetRequiredService<IConfiguration>(), services.GetRequiredService<ILoggerFactory>());
        try
        {
            return new CaKeyVault(store, nodeStore, options.DataDirectoryFullPath, CaKeyPassphrase.Resolve(options, database, logger), options.KeyEncryptionIterations, database, caKeys,
                caKeys is not null && ResponderKeysInToken(services.GetRequiredService<IConfiguration>()));
        }
        catch
        {
            (caKeys as IDisposable)?.Dispose();
            throw;
        }
    }

    /// <summary>The CA key provider <c>Pki:KeyStore</c> names: null for <c>File</c> (the software store), the token for <c>Pkcs11</c>.</summary>
    private static ICaKeyProvider? OpenCaKeys(PkiOptions options, IConfiguration configuration, ILoggerFactory loggers)
    {
        if (string.Equals(options.KeyStore, "File", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        if (!string.Equals(options.KeyStore, "Pkcs11", StringComparison.OrdinalIgnoreCase))
        {
            throw new StartupConfigurationException($"Pki:KeyStore is '{options.KeyStore}'; use File (the default) or Pkcs11.");
        }
        var pkcs11 = configuration.GetSection(Pkcs11Options.SectionName).Get<Pkcs11Options>() ?? new Pkcs11Options();
        try
        {
            return new Pkcs11CaKeyProvider(pkcs11, loggers.CreateLogger<Pkcs11CaKeyProvider>());
        }
        catch (Pkcs11ConfigurationException exception)
        {
            throw new StartupConfigurationException(exception.Message, exception);
        }
    }

    /// <summary>
    /// Refuses to start on a token that holds no CA key when the software store still holds one (<c>Pki:KeyStore</c>
    /// switched to <c>Pkcs11</c> on an existing deployment): the service would otherwise make a new root and issuing CA
    /// in the token and stop trusting every certificate it issued. Bringing the existing CA along is an explicit step.
    /// </summary>
    public void RefuseCaKeysLeftInSoftwareStore()
    {
        if (Keys is FileCaKeyProvider)
        {
            return; // File: the keys are where they always were
        }
        foreach (var name in new[] { CaHierarchy.RootName, CaHierarchy.IssuingName })
        {
            if (!Store.TryLoad(name, out _, out var encryptedKey) || encryptedKey.Length == 0)
            {
                continue;
            }
            if (Keys.TryLoad(name) is { } inToken)
            {
                inToken.Key.Dispose(); // only asked whether it is there; CaHierarchy loads it next
            }
            else
            {
                throw new StartupConfigurationException(
                    $"Pki:KeyStore is Pkcs11 but the token holds no '{name}' key while the file store still does; start with Pki:KeyStore=File, or bring the CA into the token first (it would otherwise create a new CA).");
            }
        }
        RefuseEmptyTokenOnDeploymentThatRan();
    }

    /// <summary>
    /// Refuses a token that holds no CA at all on a deployment that has run before (<c>Pkcs11:TokenLabel</c> pointed at
    /// another or a re-initialised token), for the same reason: a new CA would orphan every certificate issued. What
    /// shows that it ran: an OCSP responder certificate its CA signed (in the software store, the default) or, on SQLite,
    /// the database file, which the first start creates only after the CA exists.
    /// </summary>
    private void RefuseEmptyTokenOnDeploymentThatRan()
    {
        if (Certificates.TryLoadCertificates(CaHierarchy.ChainName) is not null)
        {
            return; // under an external root: the ca commands put the issuing key in place, its start checks it
        }
        foreach (var name in new[] { CaHierarchy.RootName, CaHierarchy.IssuingName })
        {
            if (Keys.TryLoad(name) is { } inToken)
            {
                inToken.Key.Dispose();
                return; // the token holds this deployment's CA (or part of it, which CaHierarchy completes as before)
            }
        }
        var responder = new[] { CaHierarchy.RootName, CaHierarchy.IssuingName }
            .Select(PkiService.Core.Ocsp.OcspResponderCertificate.StoreName)
            .FirstOrDefault(name => Store.TryLoad(name, out _, out _));
        var sqliteFile = Path.Combine(_dataDirectory, PkiService.Persistence.Sqlite.SqliteDatabase.FileName);
        var evidence = responder is not null ? $"the OCSP responder certificate '{responder}' its CA signed is stored"
            : !_database.IsShared && File.Exists(sqliteFile) ? $"its database {sqliteFile} exists"
            : null;
        if (evidence is not null)
        {
            throw new StartupConfigurationException(
                $"Pkcs11:TokenLabel names a token that holds no CA key, but this deployment has run before ({evidence}); "
                + "point Pkcs11:TokenLabel at the token that holds its CA keys (a new CA would orphan every certificate issued).");
        }
    }

    /// <summary><c>Pkcs11:OcspResponderKeys</c>: <c>Software</c> (the default) or <c>Token</c>.</summary>
    private static bool ResponderKeysInToken(IConfiguration configuration)
    {
        var value = configuration[$"{Pkcs11Options.SectionName}:OcspResponderKeys"];
        if (string.IsNullOrEmpty(value) || string.Equals(value, "Software", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        return string.Equals(value, "Token", StringComparison.OrdinalIgnoreCase)
            ? true
            : throw new StartupConfigurationException($"Pkcs11:OcspResponderKeys is '{value}'; use Software (the default) or Token.");
    }

    public void Dispose() => (Keys as IDisposable)?.Dispose();
}
