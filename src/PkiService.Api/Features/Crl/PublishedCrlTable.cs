using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.EntityFrameworkCore;
using PkiService.Core.Authorities;
using PkiService.Core.Revocation;
using PkiService.Persistence;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Features.Crl;

/// <summary>
/// The <c>PublishedCrls</c> table on a shared database: the CRLs the lease holder signed, one row per (CA, kind), which
/// every node loads and serves byte for byte, so all nodes answer with the same ETag.
/// </summary>
public static class PublishedCrlTable
{
    /// <summary>The channel the holder announces each publication on; the payload is the issuing CA's complete CRL number.</summary>
    public const string Channel = "pki_crl";

    /// <summary>
    /// Replaces the published rows with <paramref name="crls"/> (tracked changes; the caller saves them in its
    /// publishing transaction, which has checked the lease).
    /// </summary>
    public static async Task ReplaceAsync(PkiDbContext db, IEnumerable<(CertificateAuthority Ca, SignedCrl Crl)> crls, CancellationToken cancellationToken)
    {
        foreach (var (ca, crl) in crls)
        {
            var kind = crl.IsDelta ? PublishedCrlKind.Delta : PublishedCrlKind.Complete;
            var row = await db.PublishedCrls.FindAsync([ca.Fingerprint, kind], cancellationToken);
            if (row is null)
            {
                row = new PublishedCrlRecord { IssuerFingerprint = ca.Fingerprint, Kind = kind, Der = crl.Der };
                db.PublishedCrls.Add(row);
            }
            row.Number = (long)crl.CrlNumber;
            row.BaseNumber = crl.BaseCrlNumber is { } baseNumber ? (long)baseNumber : null;
            row.ThisUpdate = crl.ThisUpdate.UtcDateTime;
            row.NextUpdate = crl.NextUpdate.UtcDateTime;
            row.Der = crl.Der;
        }
    }

    /// <summary>The number of <paramref name="ca"/>'s published complete CRL, or null when none is published: one cheap read.</summary>
    public static async Task<long?> CompleteNumberAsync(PkiDbContext db, CertificateAuthority ca, CancellationToken cancellationToken) =>
        await db.PublishedCrls.AsNoTracking()
            .Where(r => r.IssuerFingerprint == ca.Fingerprint && r.Kind == PublishedCrlKind.Complete)
            .Select(r => (long?)r.Number)
            .FirstOrDefaultAsync(cancellationToken);

    /// <summary>
    /// The issuing CA's complete and delta CRLs and the root's CRL as published, read in one statement (so from one
    /// publishing transaction), or null when any of them is missing or is not signed by this hierarchy's CA: a node
    /// never serves a CRL its CA did not sign, whoever wrote the row.
    /// </summary>
    /// <remarks>With an external root the root CRL is the one an admin uploaded, and may be missing (null).</remarks>
    public static async Task<(SignedCrl Issuing, SignedCrl Delta, SignedCrl? Root)?> ReadAsync(PkiDbContext db, CaHierarchy hierarchy, CancellationToken cancellationToken)
    {
        var rows = await db.PublishedCrls.AsNoTracking()
            .Where(r => r.IssuerFingerprint == hierarchy.Issuing.Fingerprint || r.IssuerFingerprint == hierarchy.Root.Fingerprint)
            .ToListAsync(cancellationToken);
        var issuing = Find(rows, hierarchy.Issuing, PublishedCrlKind.Complete);
        var delta = Find(rows, hierarchy.Issuing, PublishedCrlKind.Delta);
        var root = Find(rows, hierarchy.Root, PublishedCrlKind.Complete);
        return issuing is null || delta is null || (root is null && !hierarchy.IsRootExternal) ? null : (issuing, delta, root);
    }

    /// <summary>The root's CRL as stored (for an external root: the one an admin uploaded), or null when there is none signed by the root.</summary>
    public static async Task<SignedCrl?> ReadRootAsync(PkiDbContext db, CaHierarchy hierarchy, CancellationToken cancellationToken)
    {
        var rows = await db.PublishedCrls.AsNoTracking()
            .Where(r => r.IssuerFingerprint == hierarchy.Root.Fingerprint && r.Kind == PublishedCrlKind.Complete)
            .ToListAsync(cancellationToken);
        return Find(rows, hierarchy.Root, PublishedCrlKind.Complete);
    }

    /// <summary>
    /// <paramref name="der"/> as a complete CRL of <paramref name="ca"/> (issuer name and signature checked, RFC 5280
    /// 5.1.1.3 and 6.3.3), or null when it is not one.
    /// </summary>
    public static SignedCrl? Parse(byte[] der, CertificateAuthority ca)
    {
        if (Inspect(der, ca) is not { } entries)
        {
            return null;
        }
        var crl = new Org.BouncyCastle.X509.X509CrlParser().ReadCrl(der);
        if (crl?.NextUpdate is not { } nextUpdate || crl.GetExtensionValue(Org.BouncyCastle.Asn1.X509.X509Extensions.DeltaCrlIndicator) is not null)
        {
            return null; // RFC 5280 5.1.2.5: conforming CRL issuers include nextUpdate; a delta CRL is not the root's CRL
        }
        var number = crl.GetExtensionValue(Org.BouncyCastle.Asn1.X509.X509Extensions.CrlNumber) is { } value
            ? new BigInteger(Org.BouncyCastle.Asn1.DerInteger.GetInstance(Org.BouncyCastle.X509.Extension.X509ExtensionUtilities.FromExtensionValue(value)).Value.ToByteArrayUnsigned(), isUnsigned: true, isBigEndian: true)
            : BigInteger.Zero;
        return new SignedCrl(number, new DateTimeOffset(crl.ThisUpdate, TimeSpan.Zero), new DateTimeOffset(nextUpdate, TimeSpan.Zero), entries, der);
    }

    /// <summary>Stores <paramref name="crl"/> as the root's published CRL (tracked; the caller saves).</summary>
    public static Task StoreRootAsync(PkiDbContext db, CaHierarchy hierarchy, SignedCrl crl, CancellationToken cancellationToken) =>
        ReplaceAsync(db, [(hierarchy.Root, crl)], cancellationToken);

    private static SignedCrl? Find(List<PublishedCrlRecord> rows, CertificateAuthority ca, PublishedCrlKind kind) =>
        rows.Find(r => r.IssuerFingerprint == ca.Fingerprint && r.Kind == kind) is { } row && Inspect(row.Der, ca) is { } entries
            ? new SignedCrl(row.Number, new DateTimeOffset(row.ThisUpdate, TimeSpan.Zero), new DateTimeOffset(row.NextUpdate, TimeSpan.Zero), entries, row.Der,
                row.BaseNumber is { } baseNumber ? new BigInteger(baseNumber) : null)
            : null;

    /// <summary>
    /// How many revokedCertificates entries the CRL lists (RFC 5280 5.1: TBSCertList), counted without decoding them,
    /// or null when it is not a CRL issued under <paramref name="ca"/>'s name and signed with its key (RFC 5280 5.1.1.3).
    /// </summary>
    private static int? Inspect(byte[] der, CertificateAuthority ca)
    {
        try
        {
            var certificateList = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
            var tbsDer = certificateList.ReadEncodedValue();
            var algorithm = certificateList.ReadSequence().ReadObjectIdentifier();
            var signature = certificateList.ReadBitString(out _);
            if (!IsSignedBy(ca, tbsDer.Span, algorithm, signature))
            {
                return null;
            }
            var tbs = new AsnReader(tbsDer, AsnEncodingRules.DER).ReadSequence();
            var hasEntries = SkipToRevoked(tbs, out var issuer);
            if (!issuer.Span.SequenceEqual(ca.SubjectDer))
            {
                return null;
            }
            var count = 0;
            if (hasEntries)
            {
                var revoked = tbs.ReadSequence();
                for (; revoked.HasData; count++)
                {
                    revoked.ReadEncodedValue();
                }
            }
            return count;
        }
        catch (AsnContentException)
        {
            return null;
        }
    }

    /// <summary>
    /// True when the CRL <paramref name="der"/> (one this node serves, so well formed) lists <paramref name="serialNumber"/>
    /// among its revokedCertificates (RFC 5280 5.1.2.6); one pass over the entries without decoding their extensions.
    /// </summary>
    public static bool Lists(byte[] der, BigInteger serialNumber)
    {
        var tbs = new AsnReader(der, AsnEncodingRules.DER).ReadSequence().ReadSequence();
        if (!SkipToRevoked(tbs, out _))
        {
            return false;
        }
        var revoked = tbs.ReadSequence();
        while (revoked.HasData)
        {
            var entry = revoked.ReadSequence();
            if (new BigInteger(entry.ReadIntegerBytes().Span, isUnsigned: false, isBigEndian: true) == serialNumber)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Reads a TBSCertList (RFC 5280 5.1) up to its revokedCertificates: version, signature, issuer (returned),
    /// thisUpdate, nextUpdate. True when revokedCertificates follows (it is absent from an empty CRL).
    /// </summary>
    private static bool SkipToRevoked(AsnReader tbs, out ReadOnlyMemory<byte> issuer)
    {
        if (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
        {
            tbs.ReadEncodedValue(); // version
        }
        tbs.ReadEncodedValue(); // signature AlgorithmIdentifier
        issuer = tbs.ReadEncodedValue();
        tbs.ReadEncodedValue(); // thisUpdate
        if (tbs.HasData && (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) || tbs.PeekTag().HasSameClassAndValue(Asn1Tag.GeneralizedTime)))
        {
            tbs.ReadEncodedValue(); // nextUpdate
        }
        return tbs.HasData && tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence);
    }

    /// <summary>Verifies the CRL's signature with the CA certificate's public key, for the algorithms this service signs with.</summary>
    private static bool IsSignedBy(CertificateAuthority ca, ReadOnlySpan<byte> tbs, string algorithm, byte[] signature)
    {
        using var certificate = X509CertificateLoader.LoadCertificate(ca.Der);
        switch (algorithm)
        {
            case "1.2.840.10045.4.3.2" or "1.2.840.10045.4.3.3" or "1.2.840.10045.4.3.4": // RFC 5758 3.2: ecdsa-with-SHA256/384/512
                using (var ec = certificate.GetECDsaPublicKey())
                {
                    return ec is not null && ec.VerifyData(tbs, signature, Hash(algorithm), DSASignatureFormat.Rfc3279DerSequence);
                }
            case "1.2.840.113549.1.1.11" or "1.2.840.113549.1.1.12" or "1.2.840.113549.1.1.13": // RFC 4055 5: sha256/384/512WithRSAEncryption
                using (var rsa = certificate.GetRSAPublicKey())
                {
                    return rsa is not null && rsa.VerifyData(tbs, signature, Hash(algorithm), RSASignaturePadding.Pkcs1);
                }
            default:
                return false;
        }
    }

    private static HashAlgorithmName Hash(string algorithm) => algorithm switch
    {
        "1.2.840.10045.4.3.2" or "1.2.840.113549.1.1.11" => HashAlgorithmName.SHA256,
        "1.2.840.10045.4.3.3" or "1.2.840.113549.1.1.12" => HashAlgorithmName.SHA384,
        _ => HashAlgorithmName.SHA512,
    };
}
