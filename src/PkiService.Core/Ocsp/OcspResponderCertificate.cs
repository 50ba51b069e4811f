using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Ocsp;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using Org.BouncyCastle.X509.Extension;
using PkiService.Core.Authorities;
using PkiService.Core.Primitives;

namespace PkiService.Core.Ocsp;

/// <summary>
/// A delegated OCSP responder certificate (RFC 6960 4.2.2.2) and its ECDSA P-256 key: signed by the CA it answers
/// for, with extendedKeyUsage id-kp-OCSPSigning and id-pkix-ocsp-nocheck, and a short life so that not being able
/// to revoke it (nocheck) does little harm.
/// </summary>
public sealed partial class OcspResponderCertificate : IDisposable
{
    /// <summary>Default lifetime of a responder certificate: 30 days.</summary>
    public static readonly TimeSpan DefaultValidity = TimeSpan.FromDays(30);

    private readonly ECDsa _privateKey;

    private OcspResponderCertificate(X509Certificate certificate, ECDsa privateKey)
    {
        Certificate = certificate;
        _privateKey = privateKey;
        SignatureFactory = new DotNetSignatureFactory(privateKey);
        Der = certificate.GetEncoded();
        NotBefore = new DateTimeOffset(certificate.NotBefore, TimeSpan.Zero);
        NotAfter = new DateTimeOffset(certificate.NotAfter, TimeSpan.Zero);
    }

    /// <summary>The responder certificate.</summary>
    public X509Certificate Certificate { get; }

    /// <summary>DER of <see cref="Certificate"/>.</summary>
    public byte[] Der { get; }

    /// <summary>Start of validity.</summary>
    public DateTimeOffset NotBefore { get; }

    /// <summary>End of validity.</summary>
    public DateTimeOffset NotAfter { get; }

    /// <summary>The responder key (ECDSA P-256).</summary>
    public ECDsa PrivateKey => _privateKey;

    /// <summary>Signs OCSP responses with <see cref="PrivateKey"/> (ecdsa-with-SHA256).</summary>
    public ISignatureFactory SignatureFactory { get; }

    /// <summary>The name under which <see cref="LoadOrCreate"/> keeps the responder of the CA stored as <paramref name="caName"/>.</summary>
    public static string StoreName(string caName) => caName + "-ocsp";

    /// <summary>
    /// Creates a fresh responder certificate and key for <paramref name="issuer"/>, valid from a minute ago for
    /// <paramref name="validity"/> (never beyond the CA's own notAfter).
    /// </summary>
    public static OcspResponderCertificate Create(CertificateAuthority issuer, TimeSpan validity, TimeProvider timeProvider) =>
        Create(issuer, ProtectedEcdsaKey.GenerateP256(), validity, timeProvider);

    /// <summary>Like <see cref="Create(CertificateAuthority, TimeSpan, TimeProvider)"/> for a key made by the caller (a key provider); it owns the key from here on.</summary>
    private static OcspResponderCertificate Create(CertificateAuthority issuer, ECDsa key, TimeSpan validity, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (validity <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(validity), validity, "A responder certificate needs a positive lifetime.");
        }

        try
        {
            var publicKey = PublicKeyFactory.CreateKey(key.ExportSubjectPublicKeyInfo());
            var now = TruncateToSeconds(timeProvider.GetUtcNow());
            var notBefore = now.AddMinutes(-1);
            var notAfter = now + validity;
            var issuerNotAfter = new DateTimeOffset(issuer.Certificate.NotAfter, TimeSpan.Zero);
            if (notAfter > issuerNotAfter)
            {
                notAfter = issuerNotAfter;
            }

            var generator = new X509V3CertificateGenerator();
            generator.SetSerialNumber(SerialNumber.NewRandom().ToBouncyCastle());
            generator.SetIssuerDN(issuer.Subject);
            generator.SetSubjectDN(SubjectFor(issuer.Subject));
            generator.SetNotBefore(notBefore.UtcDateTime);
            generator.SetNotAfter(notAfter.UtcDateTime);
            generator.SetPublicKey(publicKey);
            generator.AddExtension(X509Extensions.BasicConstraints, true, new BasicConstraints(false));
            // RFC 5280 4.2.1.3: signing OCSP responses is a digitalSignature use.
            generator.AddExtension(X509Extensions.KeyUsage, true, new KeyUsage(KeyUsage.DigitalSignature));
            // RFC 6960 4.2.2.2: a delegated responder is marked by id-kp-OCSPSigning in extendedKeyUsage.
            generator.AddExtension(X509Extensions.ExtendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeID.id_kp_OCSPSigning));
            // RFC 6960 4.2.2.2.1: id-pkix-ocsp-nocheck (value NULL) tells clients not to check the responder's own status.
            generator.AddExtension(OcspObjectIdentifiers.PkixOcspNocheck, false, DerNull.Instance);
            generator.AddExtension(X509Extensions.SubjectKeyIdentifier, false, X509ExtensionUtilities.CreateSubjectKeyIdentifier(publicKey));
            generator.AddExtension(X509Extensions.AuthorityKeyIdentifier, false, new AuthorityKeyIdentifier(issuer.SubjectKeyIdentifier));

            var certificate = generator.Generate(issuer.SignatureFactory);
            return new OcspResponderCertificate(certificate, key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads the responder kept as <see cref="StoreName"/>(<paramref name="caName"/>) by <paramref name="keys"/> and
    /// returns it if it was signed by <paramref name="issuer"/> and does not <see cref="NeedsRenewal"/>; otherwise has
    /// <paramref name="keys"/> make a new P-256 key, certifies it, stores the pair and returns it. Call it at start-up and
    /// from a periodic job.
    /// </summary>
    public static OcspResponderCertificate LoadOrCreate(
        ICaKeyProvider keys,
        string caName,
        CertificateAuthority issuer,
        TimeSpan validity,
        TimeProvider timeProvider,
        ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentException.ThrowIfNullOrEmpty(caName);
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);

        var name = StoreName(caName);
        var now = timeProvider.GetUtcNow();
        if (keys.TryLoad(name) is { } loaded)
        {
            var existing = FromStored(name, loaded);
            if (existing.IsIssuedBy(issuer) && !existing.NeedsRenewal(now))
            {
                LogResponderLoaded(logger, name, existing.NotAfter);
                return existing;
            }
            existing.Dispose();
        }

        var key = keys.CreateKey(name, CaKeyAlgorithm.EcdsaP256) as ECDsa
            ?? throw new InvalidOperationException("The key provider made a P-256 responder key that is not an ECDsa key.");
        var created = Create(issuer, key, validity, timeProvider);
        keys.Save(name, created.Der, key);
        LogResponderCreated(logger, name, created.NotAfter);
        return created;
    }

    /// <summary>A responder as a key provider returned it: the certificate and its ECDSA key.</summary>
    public static OcspResponderCertificate FromStored(string name, CaKey stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (stored.Key is not ECDsa key)
        {
            stored.Key.Dispose();
            throw new InvalidDataException($"The {name} key is not an ECDSA key.");
        }
        var certificate = new X509CertificateParser().ReadCertificate(stored.CertificateDer);
        if (certificate is null)
        {
            key.Dispose();
            throw new InvalidDataException($"The {name} certificate is empty.");
        }
        return new OcspResponderCertificate(certificate, key);
    }

    /// <summary>
    /// True once less than a third of the certificate's lifetime is left (or it has expired), so a new one is made
    /// well before clients would reject responses it signs.
    /// </summary>
    public bool NeedsRenewal(DateTimeOffset now) => ProtectedEcdsaKey.NeedsRenewal(NotBefore, NotAfter, now);

    /// <summary>True when <paramref name="issuer"/> signed this certificate (it was not made by an earlier, replaced CA).</summary>
    public bool IsIssuedBy(CertificateAuthority issuer)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        return issuer.HasSigned(Certificate);
    }

    public void Dispose() => _privateKey.Dispose();

    private static X509Name SubjectFor(X509Name caSubject)
    {
        var caCommonName = caSubject.GetValueList(X509Name.CN).FirstOrDefault() ?? "CA";
        var organization = caSubject.GetValueList(X509Name.O).FirstOrDefault();
        return organization is null
            ? new X509Name([X509Name.CN], [$"{caCommonName} OCSP Responder"])
            : new X509Name([X509Name.CN, X509Name.O], [$"{caCommonName} OCSP Responder", organization]);
    }

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset value) =>
        new(value.UtcTicks - value.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero);

    [LoggerMessage(EventId = 1101, EventName = "OcspResponderCreated", Level = LogLevel.Warning,
        Message = "Created OCSP responder certificate {ResponderName}, valid until {NotAfter:O}")]
    private static partial void LogResponderCreated(ILogger logger, string responderName, DateTimeOffset notAfter);

    [LoggerMessage(EventId = 1102, EventName = "OcspResponderLoaded", Level = LogLevel.Information,
        Message = "Loaded OCSP responder certificate {ResponderName}, valid until {NotAfter:O}")]
    private static partial void LogResponderLoaded(ILogger logger, string responderName, DateTimeOffset notAfter);
}
