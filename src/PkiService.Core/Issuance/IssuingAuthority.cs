using System.Security.Cryptography;
using Org.BouncyCastle.Asn1.X509;
using PkiService.Core.Authorities;
using PkiService.Core.Primitives;

namespace PkiService.Core.Issuance;

/// <summary>What to issue: the request, under a grant that has already been checked, with the validity asked for.</summary>
public sealed record IssuanceOrder(
    SerialNumber SerialNumber,
    CertificationRequest Request,
    IssuanceGrant Grant,
    TimeSpan? RequestedValidity);

/// <summary>
/// What an end-entity certificate says, decided by <see cref="IssuingAuthority.Prepare"/> and encoded by
/// <see cref="CertificateWriter"/>: only the key and the authorized names come from the request. KeyEncipherment says
/// whether keyUsage adds keyEncipherment to digitalSignature (RFC 5280 4.2.1.3).
/// </summary>
public sealed record CertificateBody(
    SerialNumber SerialNumber,
    string CommonName,
    IReadOnlyList<SubjectAltName> SubjectAltNames,
    CertificateProfile Profile,
    DateTimeOffset NotBefore,
    DateTimeOffset NotAfter,
    SubjectPublicKeyInfo PublicKeyInfo,
    bool KeyEncipherment)
{
    /// <summary>
    /// The subject DN as text, as BouncyCastle's <c>X509Name</c> prints it ("CN=..."); a value it would escape or
    /// rewrite is printed by it.
    /// </summary>
    public string Subject => CommonName.Length > 0 && CommonName.AsSpan().IndexOfAny(EscapedInSubject) < 0
        && CommonName[0] != ' ' && CommonName[^1] != ' '
        ? "CN=" + CommonName
        : new X509Name([X509Name.CN], [CommonName]).ToString();

    private static readonly System.Buffers.SearchValues<char> EscapedInSubject = System.Buffers.SearchValues.Create(",\\\"+=<>;#");

    /// <summary>The issued certificate for this body, given its signed DER.</summary>
    public IssuedCertificate ToIssued(byte[] der) =>
        new(SerialNumber, Subject, CommonName, SubjectAltNames, Profile.Name, NotBefore, NotAfter, der);
}

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
    private readonly DateTimeOffset _issuerNotAfter;
    private CertificateWriter? _writer;

    public IssuingAuthority(CertificateAuthority issuer, PublicationPoints publicationPoints, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(publicationPoints);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _issuer = issuer;
        _publicationPoints = publicationPoints;
        _timeProvider = timeProvider;
        _issuerNotAfter = new DateTimeOffset(issuer.Certificate.NotAfter, TimeSpan.Zero);
    }

    /// <summary>The CA that signs.</summary>
    public CertificateAuthority Issuer => _issuer;

    /// <summary>Signs the certificate described by <paramref name="order"/>.</summary>
    public IssuedCertificate Issue(IssuanceOrder order)
    {
        var body = Prepare(order);
        // Built on first use: a CA held as a certificate only has no signer, and constructing this must not need one.
        var writer = _writer ??= new CertificateWriter(_issuer, _publicationPoints);
        return body.ToIssued(writer.Write(body));
    }

    /// <summary>
    /// Decides what the certificate for <paramref name="order"/> says, without encoding or signing it: the names the
    /// grant resolves, the validity (the profile's, capped by the grant and by the issuing CA's own notAfter), the key
    /// usage.
    /// </summary>
    public CertificateBody Prepare(IssuanceOrder order)
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
        if (notAfter > _issuerNotAfter)
        {
            notAfter = _issuerNotAfter; // never outlive the issuing CA
        }
        return new CertificateBody(
            order.SerialNumber,
            commonName,
            sans,
            profile,
            notBefore,
            notAfter,
            order.Request.PublicKeyInfo,
            KeyEncipherment: profile == CertificateProfile.Server && order.Request.IsRsa); // TLS 1.2 RSA key exchange
    }

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset value) =>
        new(value.Ticks - value.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
}
