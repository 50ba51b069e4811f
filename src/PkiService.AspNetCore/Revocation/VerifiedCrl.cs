using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;
using Org.BouncyCastle.X509.Extension;
using PkiService.AspNetCore.Identity;
using PkiService.AspNetCore.Trust;

namespace PkiService.AspNetCore.Revocation;

/// <summary>A CRL of our issuing CA whose signature, issuer and numbers were checked (RFC 5280 6.3.3).</summary>
internal sealed record VerifiedCrl(
    long Number,
    long? BaseNumber,
    DateTimeOffset ThisUpdate,
    DateTimeOffset NextUpdate,
    IReadOnlyList<(string SerialNumber, DateTimeOffset RevokedAt)> Entries)
{
    public bool IsDelta => BaseNumber is not null;

    /// <summary>
    /// Parses and checks <paramref name="der"/>: issued by our issuing CA (RFC 5280 6.3.3 (b)), signed with its key
    /// (6.3.3 (g)), a CRL number (5.2.3), a nextUpdate (5.1.2.5; PkiService always writes one), and a delta CRL
    /// indicator (5.2.4) exactly when <paramref name="delta"/>. Throws <see cref="InvalidDataException"/> otherwise.
    /// </summary>
    public static VerifiedCrl Verify(byte[] der, PkiTrustAnchors anchors, bool delta, int maxEntries)
    {
        try
        {
            return VerifyCore(der, anchors, delta, maxEntries);
        }
        catch (Exception error) when (error is not InvalidDataException)
        {
            // BouncyCastle's parsers throw several types on malformed structures (extensions, entries).
            throw new InvalidDataException($"malformed CRL: {error.Message}", error);
        }
    }

    private static VerifiedCrl VerifyCore(byte[] der, PkiTrustAnchors anchors, bool delta, int maxEntries)
    {
        X509Crl crl;
        try
        {
            crl = new X509CrlParser().ReadCrl(der) ?? throw new InvalidDataException("empty CRL body");
        }
        catch (Exception error) when (error is not InvalidDataException)
        {
            throw new InvalidDataException("not a DER CRL", error);
        }
        var issuer = anchors.IssuingBouncyCastle;
        if (!crl.IssuerDN.Equivalent(issuer.SubjectDN))
        {
            throw new InvalidDataException($"CRL issuer '{crl.IssuerDN}' is not the issuing CA '{issuer.SubjectDN}'");
        }
        try
        {
            crl.Verify(issuer.GetPublicKey());
        }
        catch (Exception error)
        {
            throw new InvalidDataException("CRL signature does not verify with the issuing CA's key", error);
        }
        if (crl.NextUpdate is not { } nextUpdate)
        {
            throw new InvalidDataException("CRL has no nextUpdate");
        }
        var number = Extension(crl, X509Extensions.CrlNumber) is { } numberValue
            ? DerInteger.GetInstance(numberValue).LongValueExact
            : throw new InvalidDataException("CRL has no CRL number");
        long? baseNumber = Extension(crl, X509Extensions.DeltaCrlIndicator) is { } baseValue
            ? DerInteger.GetInstance(baseValue).LongValueExact
            : null;
        if (delta != baseNumber.HasValue)
        {
            throw new InvalidDataException(delta ? "a delta CRL without a delta CRL indicator" : "a delta CRL where the complete CRL was expected");
        }
        var revoked = crl.GetRevokedCertificates();
        if (revoked is not null && revoked.Count > maxEntries)
        {
            throw new InvalidDataException($"CRL lists {revoked.Count} certificates, over PkiClient:MaxRevokedSerials ({maxEntries})");
        }
        var entries = new List<(string, DateTimeOffset)>(revoked?.Count ?? 0);
        foreach (var entry in revoked ?? Enumerable.Empty<X509CrlEntry>())
        {
            // RFC 5280 5.3.1: removeFromCRL (8) in a delta CRL takes a certificate off hold; PkiService never holds,
            // and this package only ever adds revocations.
            if (entry.GetExtensionValue(X509Extensions.ReasonCode) is { } reasonValue
                && DerEnumerated.GetInstance(X509ExtensionUtilities.FromExtensionValue(reasonValue)).IntValueExact == CrlReason.RemoveFromCrl)
            {
                continue;
            }
            entries.Add((ClientCertificateInfo.CanonicalSerial(entry.SerialNumber.ToByteArrayUnsigned()), new DateTimeOffset(entry.RevocationDate, TimeSpan.Zero)));
        }
        return new VerifiedCrl(number, baseNumber, new DateTimeOffset(crl.ThisUpdate, TimeSpan.Zero), new DateTimeOffset(nextUpdate, TimeSpan.Zero), entries);
    }

    private static Asn1Object? Extension(X509Crl crl, DerObjectIdentifier oid) =>
        crl.GetExtensionValue(oid) is { } value ? X509ExtensionUtilities.FromExtensionValue(value) : null;
}
