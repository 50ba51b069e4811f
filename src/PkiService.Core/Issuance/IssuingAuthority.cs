using System.Security.Cryptography;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;
using Org.BouncyCastle.X509.Extension;
using PkiService.Core.Authorities;
using PkiService.Core.Primitives;

namespace PkiService.Core.Issuance;

/// <summary>What to issue: the request, under a grant that has already been checked, with the validity asked for.</summary>
public sealed record IssuanceOrder(
    SerialNumber SerialNumber,
    CertificationRequest Request,
    IssuanceGrant Grant,
    TimeSpan? RequestedValidity);

/// <summary>A signed end-entity certificate, not yet handed to anyone.</summary>
public sealed record IssuedCertificate(
    SerialNumber SerialNumber,
    string Subject,
    string CommonName,
    IReadOnlyList<SubjectAltName> SubjectAltNames,
    string Profile,
    DateTimeOffset NotBefore,
    DateTimeOffset NotAfter,
    byte[] Der)
{
    /// <summary>The certificate in PEM.</summary>
    public string Pem => PemEncoding.WriteString("CERTIFICATE", Der) + "\n";
}

/// <summary>
/// Builds and signs end-entity certificates with the issuing CA. The certificate is built fresh from the
/// profile: only the subject key and the authorized names come from the request.
/// </summary>
public sealed class IssuingAuthority
{
    /// <summary>RFC 5280 4.1.2.5 leaves clock skew to the CA; a minute covers ordinary NTP drift.</summary>
    public static readonly TimeSpan Backdate = TimeSpan.FromMinutes(1);

    private readonly CertificateAuthority _issuer;
    private readonly PublicationPoints _publicationPoints;
    private readonly TimeProvider _timeProvider;

    public IssuingAuthority(CertificateAuthority issuer, PublicationPoints publicationPoints, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(publicationPoints);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _issuer = issuer;
        _publicationPoints = publicationPoints;
        _timeProvider = timeProvider;
    }

    /// <summary>The CA that signs.</summary>
    public CertificateAuthority Issuer => _issuer;

    /// <summary>Signs the certificate described by <paramref name="order"/>.</summary>
    public IssuedCertificate Issue(IssuanceOrder order)
    {
        ArgumentNullException.ThrowIfNull(order);
        var profile = order.Grant.Profile;
        var (commonName, sans) = order.Grant.Names.Resolve(order.Request, profile);

        var now = _timeProvider.GetUtcNow();
        var notBefore = TruncateToSeconds(now - Backdate);
        var validity = profile.EffectiveValidity(order.RequestedValidity);
        if (order.Grant.MaxValidity is { } cap && validity > cap)
        {
            validity = cap; // the grant (an enrollment token) may allow less than the profile
        }
        var notAfter = TruncateToSeconds(now + validity);
        var issuerNotAfter = new DateTimeOffset(_issuer.Certificate.NotAfter, TimeSpan.Zero);
        if (notAfter > issuerNotAfter)
        {
            notAfter = issuerNotAfter; // never outlive the issuing CA
        }

        var subject = new X509Name([X509Name.CN], [commonName]);
        var generator = new X509V3CertificateGenerator();
        generator.SetSerialNumber(order.SerialNumber.ToBouncyCastle());
        generator.SetIssuerDN(_issuer.Subject);
        generator.SetSubjectDN(subject);
        generator.SetNotBefore(notBefore.UtcDateTime);
        generator.SetNotAfter(notAfter.UtcDateTime);
        generator.SetSubjectPublicKeyInfo(order.Request.PublicKeyInfo);

        // RFC 5280 4.2.1.9: an end entity says CA:FALSE explicitly so no path builder treats it as a CA.
        generator.AddExtension(X509Extensions.BasicConstraints, true, new BasicConstraints(false));
        var keyUsage = KeyUsage.DigitalSignature;
        if (profile == CertificateProfile.Server && order.Request.IsRsa)
        {
            keyUsage |= KeyUsage.KeyEncipherment; // TLS 1.2 RSA key exchange
        }
        generator.AddExtension(X509Extensions.KeyUsage, true, new KeyUsage(keyUsage));
        generator.AddExtension(X509Extensions.ExtendedKeyUsage, false, new ExtendedKeyUsage(profile.ExtendedKeyUsage));
        // RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value, taken straight from the CSR's SPKI.
        generator.AddExtension(X509Extensions.SubjectKeyIdentifier, false,
            new SubjectKeyIdentifier(SHA1.HashData(order.Request.PublicKeyInfo.PublicKey.GetBytes())));
        generator.AddExtension(X509Extensions.AuthorityKeyIdentifier, false, new AuthorityKeyIdentifier(_issuer.SubjectKeyIdentifier));
        if (sans.Count > 0)
        {
            // RFC 5280 4.2.1.6: non-critical because the subject DN is not empty.
            generator.AddExtension(X509Extensions.SubjectAlternativeName, false, new GeneralNames(sans.Select(s => s.ToGeneralName()).ToArray()));
        }
        _publicationPoints.AddTo(generator);

        var certificate = generator.Generate(_issuer.SignatureFactory);
        return new IssuedCertificate(
            order.SerialNumber,
            subject.ToString(),
            commonName,
            sans,
            profile.Name,
            notBefore,
            notAfter,
            certificate.GetEncoded());
    }

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset value) =>
        new(value.Ticks - value.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
}
