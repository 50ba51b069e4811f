using System.Formats.Asn1;
using System.Numerics;
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
    /// publishing transaction), or null when any of them is missing or was not signed by this hierarchy.
    /// </summary>
    public static async Task<(SignedCrl Issuing, SignedCrl Delta, SignedCrl Root)?> ReadAsync(PkiDbContext db, CaHierarchy hierarchy, CancellationToken cancellationToken)
    {
        var rows = await db.PublishedCrls.AsNoTracking()
            .Where(r => r.IssuerFingerprint == hierarchy.Issuing.Fingerprint || r.IssuerFingerprint == hierarchy.Root.Fingerprint)
            .ToListAsync(cancellationToken);
        var issuing = Find(rows, hierarchy.Issuing, PublishedCrlKind.Complete);
        var delta = Find(rows, hierarchy.Issuing, PublishedCrlKind.Delta);
        var root = Find(rows, hierarchy.Root, PublishedCrlKind.Complete);
        return issuing is null || delta is null || root is null ? null : (issuing, delta, root);
    }

    private static SignedCrl? Find(List<PublishedCrlRecord> rows, CertificateAuthority ca, PublishedCrlKind kind) =>
        rows.Find(r => r.IssuerFingerprint == ca.Fingerprint && r.Kind == kind) is { } row && CountEntries(row.Der, ca) is { } entries
            ? new SignedCrl(row.Number, new DateTimeOffset(row.ThisUpdate, TimeSpan.Zero), new DateTimeOffset(row.NextUpdate, TimeSpan.Zero), entries, row.Der,
                row.BaseNumber is { } baseNumber ? new BigInteger(baseNumber) : null)
            : null;

    /// <summary>
    /// How many revokedCertificates entries the CRL lists (RFC 5280 5.1: TBSCertList), counted without decoding them,
    /// or null when it is not a CRL issued under <paramref name="ca"/>'s name.
    /// </summary>
    private static int? CountEntries(byte[] der, CertificateAuthority ca)
    {
        try
        {
            var tbs = new AsnReader(der, AsnEncodingRules.DER).ReadSequence().ReadSequence();
            if (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
            {
                tbs.ReadEncodedValue(); // version
            }
            tbs.ReadEncodedValue(); // signature AlgorithmIdentifier
            if (!tbs.ReadEncodedValue().Span.SequenceEqual(ca.SubjectDer))
            {
                return null;
            }
            tbs.ReadEncodedValue(); // thisUpdate
            if (tbs.HasData && (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) || tbs.PeekTag().HasSameClassAndValue(Asn1Tag.GeneralizedTime)))
            {
                tbs.ReadEncodedValue(); // nextUpdate
            }
            var count = 0;
            if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
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
}
