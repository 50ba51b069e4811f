using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Org.BouncyCastle.X509;
using PkiService.Api.Infrastructure;
using PkiService.Core.Authorities;
using PkiService.Persistence;

namespace PkiService.Api.Commands.Ca;

/// <summary>
/// The offline-root commands, run instead of the service with the service's configuration (appsettings, environment,
/// <c>--Pki:DataDirectory=...</c>, <c>--Pki:KeyPassphrase=...</c>, <c>--Pki:KeyStore=...</c>, <c>--Pkcs11:...</c>); no web
/// host is started:
/// <list type="bullet">
/// <item><c>ca init-issuing --csr issuing.csr</c>: makes the issuing CA key in the configured key provider (file store
/// or token) and writes a PEM CSR for it (subject <c>Pki:IssuingSubject</c>) for the offline root to sign.</item>
/// <item><c>ca install-issuing --cert issuing.crt --chain root.crt</c>: checks that the signed certificate is for that
/// key, is a CA, and chains to the root in <c>--chain</c> (intermediates too), then installs certificate and chain.</item>
/// <item><c>ca import-issuing --cert issuing.crt --key issuing.key --chain root.crt [--key-passphrase-file f]</c>: brings
/// an existing issuing CA whose key is a PEM PKCS#8 (encrypted or not): into the file store encrypted under
/// <c>Pki:KeyPassphrase</c>, or imported into the token (not extractable from then on); the same checks.</item>
/// </list>
/// Exit code 0 on success; otherwise one line on standard error and <see cref="CaCommandExitCodes"/>.
/// </summary>
public static class CaCommand
{
    /// <summary>The command's name, the first argument.</summary>
    public const string Name = "ca";

    /// <summary>True when the process was started to run this command rather than the service.</summary>
    public static bool IsRequested(string[] args) => args.Length > 0 && args[0] == Name;

    /// <summary>Runs the command; returns the process exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var verb = args.Length > 1 ? args[1] : "";
        try
        {
            if (verb is not ("init-issuing" or "install-issuing" or "import-issuing"))
            {
                throw Usage($"'{verb}' is not a ca command");
            }
            var (options, settings) = ParseArguments(args);
            using var app = BuildHost(settings);
            var services = app.Services;
            var database = services.GetRequiredService<IPkiDatabase>();
            if (database.IsShared)
            {
                // PostgreSQL: the CA certificates and keys live in the database, which may still be empty (the command
                // runs before any node has started): the schema first, as a starting node applies it.
                PkiStartup.PrepareDatabaseAsync(services, database, CancellationToken.None).GetAwaiter().GetResult();
            }
            var vault = services.GetRequiredService<CaKeyVault>();
            var pki = services.GetRequiredService<IOptions<PkiOptions>>().Value;
            var now = services.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime;
            // Under the cluster-wide CA key lock: a node starting on the same database meanwhile waits, and never
            // makes a root of its own beside the external one being installed.
            var message = vault.Exclusive(() => verb switch
            {
                "init-issuing" => InitIssuing(vault, pki, Required(options, "--csr"), now),
                "install-issuing" => InstallIssuing(vault, Required(options, "--cert"), Required(options, "--chain"), now),
                "import-issuing" => ImportIssuing(vault, Required(options, "--cert"), Required(options, "--key"), Required(options, "--chain"),
                    options.GetValueOrDefault("--key-passphrase-file"), now),
                _ => throw Usage($"'{verb}' is not a ca command"),
            });
            output.WriteLine(message);
            return CaCommandExitCodes.Done;
        }
        catch (IssuingCaRefusedException exception)
        {
            error.WriteLine($"{Name} {verb}: refused: {OneLine(exception.Message)}");
            return CaCommandExitCodes.Refused;
        }
        catch (CommandException exception)
        {
            error.WriteLine($"{Name} {verb}: {OneLine(exception.Message)}");
            return CaCommandExitCodes.Configuration;
        }
        catch (Exception exception) when (exception is StartupConfigurationException or CaKeyUnlockException or IOException
            or UnauthorizedAccessException or CryptographicException or InvalidDataException or InvalidOperationException)
        {
            // Settings, passphrase, token or files: the exception's own line (they never carry a PIN or a passphrase).
            error.WriteLine($"{Name} {verb}: {OneLine(exception.Message)}");
            return CaCommandExitCodes.Configuration;
        }
    }

    private static string InitIssuing(CaKeyVault vault, PkiOptions pki, string csrPath, DateTime now)
    {
        var chain = vault.Certificates.TryLoadCertificates(CaHierarchy.ChainName);
        if (chain is { Count: > 0 })
        {
            throw new CommandException("An issuing CA under an external root is installed already; a new key would replace a CA in use.");
        }
        if (chain is null && (vault.Store.TryLoad(CaHierarchy.RootName, out _, out _) || vault.Keys.TryLoad(CaHierarchy.RootName) is not null))
        {
            throw new CommandException(
                $"This deployment runs its own root ({CaHierarchy.RootName}); init-issuing is for a new deployment under an external root: use an empty --Pki:DataDirectory.");
        }
        var key = vault.Keys.CreateKey(CaHierarchy.IssuingName, pki.IssuingKeyAlgorithm);
        // The provider keeps a key only with a certificate: a placeholder until install-issuing stores the root's; the
        // empty chain marks the deployment as one with an external root, whose start waits for install-issuing.
        vault.Keys.Save(CaHierarchy.IssuingName, IssuingCaInstallation.CreatePlaceholderCertificate(key, pki.IssuingSubject, now), key);
        vault.Certificates.SaveCertificates(CaHierarchy.ChainName, []);
        File.WriteAllText(csrPath, IssuingCaInstallation.CreateCsrPem(key, pki.IssuingSubject));
        key.Dispose();
        return $"Made the {CaHierarchy.IssuingName} key ({pki.IssuingKeyAlgorithm}, Pki:KeyStore={pki.KeyStore}) and wrote its CSR ({pki.IssuingSubject}) to {csrPath}; "
            + "have the root sign it as a CA (basicConstraints CA:TRUE, keyUsage keyCertSign, cRLSign), then run 'ca install-issuing'.";
    }

    private static string InstallIssuing(CaKeyVault vault, string certPath, string chainPath, DateTime now)
    {
        if (vault.Certificates.TryLoadCertificates(CaHierarchy.ChainName) is null)
        {
            throw new CommandException("There is no issuing CA key waiting for its certificate: run 'ca init-issuing --csr <file>' first.");
        }
        var existing = vault.Keys.TryLoad(CaHierarchy.IssuingName)
            ?? throw new CommandException($"There is no {CaHierarchy.IssuingName} key in this key store: run 'ca init-issuing --csr <file>' first.");
        using var key = existing.Key;
        var certificate = ReadOne(certPath, "--cert");
        var chain = IssuingCaInstallation.Check(certificate, key, IssuingCaInstallation.ReadCertificates(ReadText(chainPath, "--chain"), "--chain"), now);
        Install(vault, certificate, key, chain);
        return Installed(certificate, chain);
    }

    private static string ImportIssuing(CaKeyVault vault, string certPath, string keyPath, string chainPath, string? passphrasePath, DateTime now)
    {
        if (vault.Certificates.TryLoadCertificates(CaHierarchy.ChainName) is null
            && (vault.Store.TryLoad(CaHierarchy.RootName, out _, out _) || vault.Keys.TryLoad(CaHierarchy.RootName) is not null))
        {
            throw new CommandException(
                $"This deployment runs its own root ({CaHierarchy.RootName}); import-issuing is for a new deployment: use an empty --Pki:DataDirectory.");
        }
        var certificate = ReadOne(certPath, "--cert");
        using var key = ReadPrivateKey(certificate, ReadText(keyPath, "--key"), passphrasePath);
        var chain = IssuingCaInstallation.Check(certificate, key, IssuingCaInstallation.ReadCertificates(ReadText(chainPath, "--chain"), "--chain"), now);
        Install(vault, certificate, key, chain);
        return Installed(certificate, chain);
    }

    private static void Install(CaKeyVault vault, X509Certificate certificate, AsymmetricAlgorithm key, IReadOnlyList<X509Certificate> chain)
    {
        // The key and certificate first: a stop in between leaves the chain marker as it was, and the command can run again.
        vault.Keys.Save(CaHierarchy.IssuingName, certificate.GetEncoded(), key);
        vault.Certificates.SaveCertificates(CaHierarchy.ChainName, [.. chain.Select(c => c.GetEncoded())]);
    }

    private static string Installed(X509Certificate certificate, IReadOnlyList<X509Certificate> chain) =>
        $"Installed {CaHierarchy.IssuingName} {certificate.SubjectDN} (valid until {certificate.NotAfter:O}) under {chain[^1].SubjectDN}"
        + $" with {chain.Count - 1} intermediate(s); the service runs with no root key. Upload the root CRL with PUT /api/v1/root-crl.";

    /// <summary>A PEM PKCS#8 key ("PRIVATE KEY" or "ENCRYPTED PRIVATE KEY"; also SEC 1 / PKCS#1) of the certificate's key type.</summary>
    private static AsymmetricAlgorithm ReadPrivateKey(X509Certificate certificate, string pem, string? passphrasePath)
    {
        AsymmetricAlgorithm key = certificate.GetPublicKey() switch
        {
            Org.BouncyCastle.Crypto.Parameters.ECPublicKeyParameters => ECDsa.Create(),
            Org.BouncyCastle.Crypto.Parameters.RsaKeyParameters => RSA.Create(),
            _ => throw new IssuingCaRefusedException("The issuing certificate's key is neither EC nor RSA."),
        };
        try
        {
            if (pem.Contains("ENCRYPTED PRIVATE KEY", StringComparison.Ordinal))
            {
                var passphrase = passphrasePath is null
                    ? throw new CommandException("--key is encrypted: give its passphrase in a file with --key-passphrase-file <path>.")
                    : ReadText(passphrasePath, "--key-passphrase-file").TrimEnd('\r', '\n');
                key.ImportFromEncryptedPem(pem, passphrase);
            }
            else
            {
                key.ImportFromPem(pem);
            }
            return key;
        }
        catch (Exception exception) when (exception is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new IssuingCaRefusedException(
                $"--key cannot be read as a PEM private key of the certificate's type (or the passphrase does not decrypt it): {exception.Message}");
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    private static X509Certificate ReadOne(string path, string option)
    {
        var certificates = IssuingCaInstallation.ReadCertificates(ReadText(path, option), option);
        return certificates.Count == 1
            ? certificates[0]
            : throw new IssuingCaRefusedException($"{option} holds {certificates.Count} certificates; give the issuing CA's alone and the rest in --chain.");
    }

    private static string ReadText(string path, string option)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new CommandException($"{option} {path} cannot be read: {exception.Message}");
        }
    }

    /// <summary>The service's configuration and services, built but never started (no listener, no background job).</summary>
    private static WebApplication BuildHost(string[] settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = settings, ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders(); // the command reports in its own one line
        builder.AddPkiServices();
        return builder.Build();
    }

    /// <summary>The command's own options (<c>--csr</c>, <c>--cert</c>, <c>--chain</c>, <c>--key</c>, <c>--key-passphrase-file</c>) and the rest for the configuration.</summary>
    private static (Dictionary<string, string> Options, string[] Settings) ParseArguments(string[] args)
    {
        string[] own = ["--csr", "--cert", "--chain", "--key", "--key-passphrase-file"];
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var settings = new List<string>();
        for (var i = 2; i < args.Length; i++)
        {
            var name = own.FirstOrDefault(o => args[i] == o || args[i].StartsWith(o + "=", StringComparison.Ordinal));
            if (name is null)
            {
                settings.Add(args[i]);
                continue;
            }
            string value;
            if (args[i] == name)
            {
                value = i + 1 < args.Length ? args[++i] : throw Usage($"{name} needs a file name");
            }
            else
            {
                value = args[i][(name.Length + 1)..];
            }
            if (!options.TryAdd(name, value))
            {
                throw Usage($"{name} is given twice");
            }
        }
        return (options, settings.ToArray());
    }

    private static string Required(Dictionary<string, string> options, string name) =>
        options.TryGetValue(name, out var value) && value.Length > 0 ? value : throw Usage($"{name} <file> is missing");

    private static CommandException Usage(string what) => new(
        $"{what}; use: ca init-issuing --csr <file> | ca install-issuing --cert <file> --chain <file> | "
        + "ca import-issuing --cert <file> --key <file> --chain <file> [--key-passphrase-file <file>], with the service's settings (--Pki:DataDirectory=...).");

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries));

    /// <summary>The command stops with one line: a usage or state error.</summary>
    private sealed class CommandException(string message) : Exception(message);
}

/// <summary>The exit codes of the <c>ca</c> commands.</summary>
public static class CaCommandExitCodes
{
    /// <summary>Done.</summary>
    public const int Done = 0;

    /// <summary>Usage, configuration, key store or file error; nothing was installed.</summary>
    public const int Configuration = 1;

    /// <summary>The certificate, key or chain failed a check (another key, not a CA, a broken chain); nothing was installed.</summary>
    public const int Refused = 2;
}
