using System.Numerics;
using System.Security.Cryptography;
using PkiService.Core.Authorities;

namespace PkiService.Core.Revocation;

/// <summary>A signed X.509 v2 CRL, ready to publish.</summary>
/// <param name="CrlNumber">The cRLNumber it carries (RFC 5280 5.2.3).</param>
/// <param name="ThisUpdate">Its thisUpdate (RFC 5280 5.1.2.4), whole seconds.</param>
/// <param name="NextUpdate">Its nextUpdate (RFC 5280 5.1.2.5), whole seconds.</param>
/// <param name="EntryCount">How many revoked certificates it lists.</param>
/// <param name="Der">The DER encoding (<c>application/pkix-crl</c>).</param>
/// <param name="BaseCrlNumber">For a delta CRL, the number of the base CRL it updates (RFC 5280 5.2.4); null for a complete CRL.</param>
public sealed record SignedCrl(BigInteger CrlNumber, DateTimeOffset ThisUpdate, DateTimeOffset NextUpdate, int EntryCount, byte[] Der, BigInteger? BaseCrlNumber = null)
{
    /// <summary>PEM label of a CRL (RFC 7468 6).</summary>
    public const string PemLabel = "X509 CRL";

    /// <summary>True for a delta CRL (RFC 5280 5.2.4).</summary>
    public bool IsDelta => BaseCrlNumber is not null;

    /// <summary>The CRL in PEM, as nginx <c>ssl_crl</c> and HAProxy <c>crl-file</c> read it.</summary>
    public string Pem => PemEncoding.WriteString(PemLabel, Der) + "\n";
}

/// <summary>
/// Builds X.509 v2 CRLs (RFC 5280 5) signed by one CA: the issuing CA for end-entity certificates, or the root for
/// the issuing CAs it signed; complete CRLs and delta CRLs (RFC 5280 5.2.4). Persisting the CRL number and choosing
/// what to list is the caller's job. The encoding is done by <see cref="CrlWriter"/>, which streams DER into one
/// buffer and signs it through the CA's .NET key.
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
    private readonly string? _freshestCrlUrl;

    /// <param name="issuer">The CA that signs.</param>
    /// <param name="freshestCrlUrl">
    /// Where this CA's delta CRLs are published; written into complete CRLs as the Freshest CRL extension
    /// (RFC 5280 5.2.6). Null when the CA issues no delta CRLs.
    /// </param>
    public CrlBuilder(CertificateAuthority issuer, string? freshestCrlUrl = null)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        _issuer = issuer;
        _freshestCrlUrl = freshestCrlUrl;
    }

    /// <summary>The CA that signs.</summary>
    public CertificateAuthority Issuer => _issuer;

    /// <summary>
    /// Builds and signs a complete CRL. Times are truncated to whole seconds (RFC 5280 5.1.2.4 and 5.1.2.6 encode
    /// no fractions); entries are written in serial order so equal input gives equal output.
    /// </summary>
    /// <param name="crlNumber">Non-negative and at most 20 octets (RFC 5280 5.2.3); the caller makes it strictly increase.</param>
    /// <param name="thisUpdate">When this CRL was issued.</param>
    /// <param name="nextUpdate">When the next CRL will be issued at the latest; after <paramref name="thisUpdate"/>.</param>
    /// <param name="revoked">The revoked certificates to list; serials must be distinct. Enumerated once.</param>
    public SignedCrl Build(BigInteger crlNumber, DateTimeOffset thisUpdate, DateTimeOffset nextUpdate, IEnumerable<RevokedCertificate> revoked) =>
        Write(crlNumber, null, thisUpdate, nextUpdate, revoked);

    /// <summary>
    /// Builds and signs a delta CRL (RFC 5280 5.2.4): it lists the revocations since the complete CRL numbered
    /// <paramref name="baseCrlNumber"/> and carries that number in a critical deltaCRLIndicator. Base and delta CRLs
    /// draw their numbers from one sequence, so <paramref name="crlNumber"/> is greater than the base's.
    /// </summary>
    public SignedCrl BuildDelta(BigInteger crlNumber, BigInteger baseCrlNumber, DateTimeOffset thisUpdate, DateTimeOffset nextUpdate, IEnumerable<RevokedCertificate> revoked)
    {
        CheckCrlNumber(baseCrlNumber, nameof(baseCrlNumber));
        if (crlNumber <= baseCrlNumber)
        {
            throw new ArgumentOutOfRangeException(nameof(crlNumber), crlNumber,
                $"A delta CRL's number must be greater than its base CRL's number {baseCrlNumber} (RFC 5280 5.2.4: one sequence).");
        }
        return Write(crlNumber, baseCrlNumber, thisUpdate, nextUpdate, revoked);
    }

    private SignedCrl Write(BigInteger crlNumber, BigInteger? baseCrlNumber, DateTimeOffset thisUpdate, DateTimeOffset nextUpdate, IEnumerable<RevokedCertificate> revoked)
    {
        ArgumentNullException.ThrowIfNull(revoked);
        CheckCrlNumber(crlNumber, nameof(crlNumber));
        var thisUpdateSeconds = TruncateToSeconds(thisUpdate);
        var nextUpdateSeconds = TruncateToSeconds(nextUpdate);
        if (nextUpdateSeconds <= thisUpdateSeconds)
        {
            throw new ArgumentException($"nextUpdate {nextUpdate:O} must be later than thisUpdate {thisUpdate:O} (RFC 5280 5.1.2.5).", nameof(nextUpdate));
        }

        var writer = new CrlWriter(_issuer, revoked.TryGetNonEnumeratedCount(out var count) ? count : 0);
        foreach (var entry in revoked)
        {
            writer.Add(entry);
        }
        // RFC 5280 5.2.6: the Freshest CRL extension goes into complete CRLs only, never into a delta.
        return writer.Write(crlNumber, thisUpdateSeconds, nextUpdateSeconds, baseCrlNumber, baseCrlNumber is null ? _freshestCrlUrl : null);
    }

    private static void CheckCrlNumber(BigInteger number, string name)
    {
        if (number.Sign < 0 || number.GetByteCount(isUnsigned: true) > MaxCrlNumberOctets)
        {
            throw new ArgumentOutOfRangeException(name, number, "A CRL number must be a non-negative integer of at most 20 octets (RFC 5280 5.2.3).");
        }
    }

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset value)
    {
        var utc = value.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - utc.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
    }
}
