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
/// The two-level hierarchy this service runs: an offline-style root that signs only the issuing CA,
/// and the issuing CA that signs end-entity certificates. Created on first start, loaded afterwards.
/// </summary>
public sealed partial class CaHierarchy : IDisposable
{
    public const string RootName = "root-ca";
    public const string IssuingName = "issuing-ca";

    private CaHierarchy(CertificateAuthority root, CertificateAuthority issuing, IReadOnlyList<string> created)
    {
        Root = root;
        Issuing = issuing;
        Created = created;
    }

    /// <summary>The names of the CAs this start created (empty when both were loaded).</summary>
    public IReadOnlyList<string> Created { get; }

    /// <summary>The self-signed root CA.</summary>
    public CertificateAuthority Root { get; }

    /// <summary>The CA that signs end-entity certificates.</summary>
    public CertificateAuthority Issuing { get; }

    /// <summary>PEM of the issuing CA followed by the root: what a TLS peer needs to build the path.</summary>
    public string ChainPem => Issuing.Pem + Root.Pem;

    /// <summary>
    /// Loads both CAs from <paramref name="keys"/>, creating any that is missing. A key that cannot be unlocked (a wrong
    /// passphrase) stops here with a message that says so, rather than with a CA that cannot sign.
    /// </summary>
    public static CaHierarchy LoadOrCreate(
        ICaKeyProvider keys,
        CaHierarchyOptions options,
        TimeProvider timeProvider,
        ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(options);

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

    [LoggerMessage(EventId = 1001, EventName = "CaCreated", Level = LogLevel.Warning,
        Message = "Created {CaName} {Subject} (SHA-256 {Fingerprint}), valid until {NotAfter:O}")]
    private static partial void LogCaCreated(ILogger logger, string caName, string subject, string fingerprint, DateTime notAfter);

    [LoggerMessage(EventId = 1002, EventName = "CaLoaded", Level = LogLevel.Information,
        Message = "Loaded {CaName} {Subject} (SHA-256 {Fingerprint})")]
    private static partial void LogCaLoaded(ILogger logger, string caName, string subject, string fingerprint);
}

/// <summary>A CA key exists but cannot be decrypted with the configured passphrase.</summary>
public sealed class CaKeyUnlockException(string message, Exception inner) : Exception(message, inner);
