using System.Numerics;
using System.Security.Cryptography;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;
using PkiService.Core.Authorities;
using PkiService.Core.Primitives;

namespace PkiService.Core.Revocation;

/// <summary>A signed X.509 v2 CRL, ready to publish.</summary>
/// <param name="CrlNumber">The cRLNumber it carries (RFC 5280 5.2.3).</param>
/// <param name="ThisUpdate">Its thisUpdate (RFC 5280 5.1.2.4), whole seconds.</param>
/// <param name="NextUpdate">Its nextUpdate (RFC 5280 5.1.2.5), whole seconds.</param>
/// <param name="EntryCount">How many revoked certificates it lists.</param>
/// <param name="Der">The DER encoding (<c>application/pkix-crl</c>).</param>
public sealed record SignedCrl(BigInteger CrlNumber, DateTimeOffset ThisUpdate, DateTimeOffset NextUpdate, int EntryCount, byte[] Der)
{
    /// <summary>PEM label of a CRL (RFC 7468 6).</summary>
    public const string PemLabel = "X509 CRL";

    /// <summary>The CRL in PEM, as nginx <c>ssl_crl</c> and HAProxy <c>crl-file</c> read it.</summary>
    public string Pem => PemEncoding.WriteString(PemLabel, Der) + "\n";
}

/// <summary>
/// Builds complete X.509 v2 CRLs (RFC 5280 5) signed by one CA: the issuing CA for end-entity certificates,
/// or the root for the issuing CAs it signed. Persisting the CRL number and choosing what to list is the caller's job.
/// </summary>
/// <remarks>
/// RFC 5280 5.3.1 recommends leaving the reasonCode extension out rather than writing <c>unspecified</c> (0);
/// this builder follows it, so an entry revoked as <see cref="RevocationReason.Unspecified"/> carries no reasonCode.
/// </remarks>
public sealed class CrlBuilder
{
    /// <summary>RFC 5280 5.2.3: conforming CAs must not use CRL numbers longer than 20 octets.</summary>
    public const int MaxCrlNumberOctets = 20;

    private readonly CertificateAuthority _issuer;

    public CrlBuilder(CertificateAuthority issuer)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        _issuer = issuer;
    }

    /// <summary>The CA that signs.</summary>
    public CertificateAuthority Issuer => _issuer;

    /// <summary>
    /// Builds and signs a full CRL. Times are truncated to whole seconds (RFC 5280 5.1.2.4 and 5.1.2.6 encode
    /// no fractions); entries are written in serial order so equal input gives equal output.
    /// </summary>
    /// <param name="crlNumber">Non-negative and at most 20 octets (RFC 5280 5.2.3); the caller makes it strictly increase.</param>
    /// <param name="thisUpdate">When this CRL was issued.</param>
    /// <param name="nextUpdate">When the next CRL will be issued at the latest; after <paramref name="thisUpdate"/>.</param>
    /// <param name="revoked">The revoked certificates to list; serials must be distinct.</param>
    public SignedCrl Build(BigInteger crlNumber, DateTimeOffset thisUpdate, DateTimeOffset nextUpdate, IEnumerable<RevokedCertificate> revoked)
    {
        ArgumentNullException.ThrowIfNull(revoked);
        if (crlNumber.Sign < 0 || crlNumber.GetByteCount(isUnsigned: true) > MaxCrlNumberOctets)
        {
            throw new ArgumentOutOfRangeException(nameof(crlNumber), crlNumber, "A CRL number must be a non-negative integer of at most 20 octets (RFC 5280 5.2.3).");
        }
        var thisUpdateSeconds = TruncateToSeconds(thisUpdate);
        var nextUpdateSeconds = TruncateToSeconds(nextUpdate);
        if (nextUpdateSeconds <= thisUpdateSeconds)
        {
            throw new ArgumentException($"nextUpdate {nextUpdate:O} must be later than thisUpdate {thisUpdate:O} (RFC 5280 5.1.2.5).", nameof(nextUpdate));
        }

        var entries = revoked.ToList();
        var duplicate = entries.GroupBy(e => e.SerialNumber).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"Serial {duplicate.Key} is listed more than once; a CRL names each certificate once.", nameof(revoked));
        }
        entries.Sort((a, b) => CompareSerials(a.SerialNumber, b.SerialNumber));

        var generator = new X509V2CrlGenerator();
        generator.SetIssuerDN(_issuer.Subject);
        generator.SetThisUpdate(thisUpdateSeconds.UtcDateTime);
        generator.SetNextUpdate(nextUpdateSeconds.UtcDateTime);
        foreach (var entry in entries)
        {
            generator.AddCrlEntry(entry.SerialNumber.ToBouncyCastle(), TruncateToSeconds(entry.RevocationDate).UtcDateTime, EntryExtensions(entry));
        }
        // RFC 5280 5.2.1: conforming CRL issuers must include the AKI; 5.2.3: and the CRL number. Both non-critical.
        generator.AddExtension(X509Extensions.AuthorityKeyIdentifier, false, new AuthorityKeyIdentifier(_issuer.SubjectKeyIdentifier));
        generator.AddExtension(X509Extensions.CrlNumber, false, new CrlNumber(new Org.BouncyCastle.Math.BigInteger(1, crlNumber.ToByteArray(isUnsigned: true, isBigEndian: true))));

        var crl = generator.Generate(_issuer.SignatureFactory);
        return new SignedCrl(crlNumber, thisUpdateSeconds, nextUpdateSeconds, entries.Count, crl.GetEncoded());
    }

    private static X509Extensions? EntryExtensions(RevokedCertificate entry)
    {
        var extensions = new X509ExtensionsGenerator();
        // RFC 5280 5.3.1: reasonCode is non-critical, and should be absent rather than unspecified (0).
        if (entry.Reason != RevocationReason.Unspecified)
        {
            extensions.AddExtension(X509Extensions.ReasonCode, false, new CrlReason(entry.Reason.ToCrlReasonCode()));
        }
        // RFC 5280 5.3.2: invalidityDate is a non-critical GeneralizedTime, whatever the year.
        if (entry.InvalidityDate is { } invalidity)
        {
            extensions.AddExtension(X509Extensions.InvalidityDate, false, new DerGeneralizedTime(TruncateToSeconds(invalidity).UtcDateTime));
        }
        return extensions.IsEmpty ? null : extensions.Generate();
    }

    private static int CompareSerials(SerialNumber a, SerialNumber b)
    {
        var byLength = a.Hex.Length.CompareTo(b.Hex.Length);
        return byLength != 0 ? byLength : string.CompareOrdinal(a.Hex, b.Hex);
    }

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset value)
    {
        var utc = value.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - utc.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
    }
}
