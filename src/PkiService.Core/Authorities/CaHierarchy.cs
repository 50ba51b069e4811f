using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using Org.BouncyCastle.X509.Extension;
using PkiService.Core.Primitives;

namespace PkiService.Core.Authorities;

/// <summary>
/// The hierarchy this service runs: by default two levels, a root that signs only the issuing CA and the issuing CA
/// that signs end-entity certificates, created on first start and loaded afterwards. With an external (offline) root
/// (<c>ca init-issuing</c> / <c>ca install-issuing</c>) the service holds only the issuing CA's key; the root and up to
/// two intermediates are kept as certificates (<see cref="ChainName"/> in an <see cref="ICaCertificateStore"/>).
/// </summary>
public sealed partial class CaHierarchy : IDisposable
{
    public const string RootName = "root-ca";
    public const string IssuingName = "issuing-ca";

    /// <summary>
    /// The certificates above an installed issuing CA (its issuer first, the external root last), kept without keys.
    /// Present (possibly empty, between <c>ca init-issuing</c> and <c>ca install-issuing</c>) only with an external root.
    /// </summary>
    public const string ChainName = "ca-chain";

    /// <summary>RFC 5280 6.1: the most intermediates accepted between the issuing CA and an external root.</summary>
    public const int MaxIntermediates = 2;

    private CaHierarchy(CertificateAuthority root, CertificateAuthority issuing, IReadOnlyList<string> created)
        : this(root, [], issuing, created)
    {
    }

    private CaHierarchy(CertificateAuthority root, IReadOnlyList<CertificateAuthority> intermediates, CertificateAuthority issuing, IReadOnlyList<string> created)
    {
        Root = root;
        Intermediates = intermediates;
        Issuing = issuing;
        Created = created;
        ChainPem = Issuing.Pem + string.Concat(intermediates.Select(i => i.Pem)) + Root.Pem;
        ChainDer = [Issuing.Der, .. intermediates.Select(i => i.Der), Root.Der];
    }

    /// <summary>The names of the CAs this start created (empty when both were loaded).</summary>
    public IReadOnlyList<string> Created { get; }

    /// <summary>The CAs between the issuing CA and an external root (its issuer first), held as certificates; empty by default.</summary>
    public IReadOnlyList<CertificateAuthority> Intermediates { get; }

    /// <summary>True when the root is external (offline): this service holds its certificate, not its key.</summary>
    public bool IsRootExternal => !Root.HasPrivateKey;

    /// <summary>The self-signed root CA.</summary>
    public CertificateAuthority Root { get; }

    /// <summary>The CA that signs end-entity certificates.</summary>
    public CertificateAuthority Issuing { get; }

    /// <summary>PEM of the issuing CA, any intermediates, then the root: what a TLS peer needs to build the path.</summary>
    public string ChainPem { get; }

    /// <summary>DER of the same certificates in the same order.</summary>
    public IReadOnlyList<byte[]> ChainDer { get; }

    /// <summary>
    /// Loads both CAs from <paramref name="keys"/>, creating any that is missing. A key that cannot be unlocked (a wrong
    /// passphrase) stops here with a message that says so, rather than with a CA that cannot sign.
    /// </summary>
    /// <exception cref="IssuingCaNotInstalledException">
    /// <paramref name="certificates"/> marks an external root but the issuing CA's certificate is not installed yet.
    /// </exception>
    public static CaHierarchy LoadOrCreate(
        ICaKeyProvider keys,
        CaHierarchyOptions options,
        TimeProvider timeProvider,
        ILogger logger,
        ICaCertificateStore? certificates = null)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(options);

        if (certificates?.TryLoadCertificates(ChainName) is { } chain)
        {
            return LoadExternal(keys, chain, logger);
        }
        var created = new List<string>();
        var root = Load(keys, RootName, logger);
        if (root is null)
        {
            root = Create(keys, RootName, options, issuer: null, timeProvider, logger);
            created.Add(RootName);
        }
        var issuing = Load(keys, IssuingName, logger);
        if (issuing is null)
        {
            issuing = Create(keys, IssuingName, options, issuer: root, timeProvider, logger);
            created.Add(IssuingName);
        }
        return new CaHierarchy(root, issuing, created);
    }

    /// <summary>
    /// Loads both CAs from <paramref name="keys"/> without creating either: null when either is missing. A wrong
    /// passphrase throws <see cref="CaKeyUnlockException"/>. For tools that read an existing deployment.
    /// </summary>
    public static CaHierarchy? LoadExisting(ICaKeyProvider keys, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var root = Load(keys, RootName, logger);
        if (root is null)
        {
            return null;
        }
        CertificateAuthority? issuing;
        try
        {
            issuing = Load(keys, IssuingName, logger);
        }
        catch
        {
            root.Dispose();
            throw;
        }
        if (issuing is null)
        {
            root.Dispose();
            return null;
        }
        return new CaHierarchy(root, issuing, []);
    }

    /// <summary>The issuing CA (its key from <paramref name="keys"/>) under the external <paramref name="chain"/> (intermediates, root last).</summary>
    private static CaHierarchy LoadExternal(ICaKeyProvider keys, IReadOnlyList<byte[]> chain, ILogger logger)
    {
        if (chain.Count == 0)
        {
            throw new IssuingCaNotInstalledException(
                $"The issuing CA key was made by 'ca init-issuing' but its certificate is not installed: run 'ca install-issuing --cert <issuing.crt> --chain <root.crt>'.");
        }
        var parser = new X509CertificateParser();
        var above = chain.Select(der => CertificateAuthority.CertificateOnly(parser.ReadCertificate(der))).ToList();
        var issuing = Load(keys, IssuingName, logger) ?? throw new IssuingCaNotInstalledException(
            $"An external root is installed ({ChainName}) but there is no {IssuingName} key: run 'ca init-issuing' and 'ca install-issuing', or 'ca import-issuing'.");
        LogExternalRoot(logger, above[^1].Subject.ToString(), above[^1].Fingerprint, above.Count - 1);
        return new CaHierarchy(above[^1], above[..^1], issuing, []);
    }

    private static CertificateAuthority? Load(ICaKeyProvider keys, string name, ILogger logger)
    {
        if (keys.TryLoad(name) is not { } loaded)
        {
            return null;
        }
        var certificate = new X509CertificateParser().ReadCertificate(loaded.CertificateDer);
        var authority = new CertificateAuthority(certificate, loaded.Key);
        LogCaLoaded(logger, name, certificate.SubjectDN.ToString(), authority.Fingerprint);
        return authority;
    }

    private static CertificateAuthority Create(
        ICaKeyProvider keys,
        string name,
        CaHierarchyOptions options,
        CertificateAuthority? issuer,
        TimeProvider timeProvider,
        ILogger logger)
    {
        var isRoot = issuer is null;
        var key = keys.CreateKey(name, isRoot ? options.RootAlgorithm : options.IssuingAlgorithm);
        var publicKey = PublicKeyFactory.CreateKey(key switch
        {
            ECDsa ec => ec.ExportSubjectPublicKeyInfo(),
            RSA rsa => rsa.ExportSubjectPublicKeyInfo(),
            _ => throw new NotSupportedException(),
        });
        var subject = new X509Name(isRoot ? options.RootSubject : options.IssuingSubject);
        var now = timeProvider.GetUtcNow().UtcDateTime;
        var notBefore = now.AddMinutes(-1);
        var notAfter = now + (isRoot ? options.RootValidity : options.IssuingValidity);
        if (issuer is not null && notAfter > issuer.Certificate.NotAfter)
        {
            notAfter = issuer.Certificate.NotAfter; // RFC 5280 6.1.3: a CA cannot outlive its issuer usefully
        }

        var generator = new X509V3CertificateGenerator();
        generator.SetSerialNumber(SerialNumber.NewRandom().ToBouncyCastle());
        generator.SetSubjectDN(subject);
        generator.SetIssuerDN(issuer?.Subject ?? subject);
        generator.SetNotBefore(notBefore);
        generator.SetNotAfter(notAfter);
        generator.SetPublicKey(publicKey);
        // RFC 5280 4.2.1.9: basicConstraints MUST be critical in CA certificates; pathlen 0 stops the issuing CA minting sub-CAs.
        generator.AddExtension(X509Extensions.BasicConstraints, true, isRoot ? new BasicConstraints(true) : new BasicConstraints(0));
        // RFC 5280 4.2.1.3: keyCertSign and cRLSign for a CA; digitalSignature lets the issuing CA sign OCSP directly if it must.
        var usage = KeyUsage.KeyCertSign | KeyUsage.CrlSign | (isRoot ? 0 : KeyUsage.DigitalSignature);
        generator.AddExtension(X509Extensions.KeyUsage, true, new KeyUsage(usage));
        generator.AddExtension(X509Extensions.SubjectKeyIdentifier, false, X509ExtensionUtilities.CreateSubjectKeyIdentifier(publicKey));
        if (issuer is not null)
        {
            generator.AddExtension(X509Extensions.AuthorityKeyIdentifier, false, new AuthorityKeyIdentifier(issuer.SubjectKeyIdentifier));
            PublicationPoints.ForRootCa(options.PublicBaseUrl).AddTo(generator);
        }

        ISignatureFactory signer = issuer?.SignatureFactory ?? new DotNetSignatureFactory(key);
        var certificate = generator.Generate(signer);

        keys.Save(name, certificate.GetEncoded(), key);

        var authority = new CertificateAuthority(certificate, key);
        LogCaCreated(logger, name, certificate.SubjectDN.ToString(), authority.Fingerprint, notAfter);
        return authority;
    }

    public void Dispose()
    {
        Issuing.Dispose();
        Root.Dispose();
    }

    [LoggerMessage(EventId = 1003, EventName = "CaExternalRoot", Level = LogLevel.Information,
        Message = "The root {Subject} (SHA-256 {Fingerprint}) is external: held as a certificate, with {IntermediateCount} intermediates; this service signs no root CRL and runs no root OCSP responder")]
    private static partial void LogExternalRoot(ILogger logger, string subject, string fingerprint, int intermediateCount);

    [LoggerMessage(EventId = 1001, EventName = "CaCreated", Level = LogLevel.Warning,
        Message = "Created {CaName} {Subject} (SHA-256 {Fingerprint}), valid until {NotAfter:O}")]
    private static partial void LogCaCreated(ILogger logger, string caName, string subject, string fingerprint, DateTime notAfter);

    [LoggerMessage(EventId = 1002, EventName = "CaLoaded", Level = LogLevel.Information,
        Message = "Loaded {CaName} {Subject} (SHA-256 {Fingerprint})")]
    private static partial void LogCaLoaded(ILogger logger, string caName, string subject, string fingerprint);
}

/// <summary>The service is set up for an external root but the issuing CA's certificate has not been installed.</summary>
public sealed class IssuingCaNotInstalledException(string message) : Exception(message);

/// <summary>A CA key exists but cannot be decrypted with the configured passphrase.</summary>
public sealed class CaKeyUnlockException(string message, Exception inner) : Exception(message, inner);
