using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore.Query;
using PkiService.Core.Primitives;
using PkiService.Core.Revocation;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Revocation;

/// <summary>
/// The revocation columns of one certificate row, and the one place that turns them into the core's revocation types
/// (an OCSP <see cref="RevocationStatus"/>, a CRL <see cref="RevokedCertificate"/> entry) and writes them.
/// </summary>
/// <remarks>
/// Read through <see cref="Columns"/> so a query loads only these columns, not the certificate's DER. Times are stored
/// as UTC <see cref="DateTime"/> values, the reason as its RFC 5280 5.3.1 name; a stored name this version does not
/// know reads as <see cref="RevocationReason.Unspecified"/> (RFC 5280 5.3.1: absent reason code = unspecified), so an
/// unexpected value never hides that the certificate is revoked.
/// </remarks>
/// <param name="SerialNumber">Canonical uppercase hex serial.</param>
/// <param name="Status">Stored lifecycle state.</param>
/// <param name="RevokedAt">When the CA processed the revocation (UTC), when revoked.</param>
/// <param name="RevocationReason">RFC 5280 5.3.1 reason name, when revoked.</param>
/// <param name="InvalidityDate">RFC 5280 5.3.2 invalidity date (UTC), if the revoker gave one.</param>
public sealed record CertificateRevocationRow(
    string SerialNumber,
    CertificateStatus Status,
    DateTime? RevokedAt,
    string? RevocationReason,
    DateTime? InvalidityDate)
{
    /// <summary>The projection for <c>Select</c>: EF reads only the revocation columns.</summary>
    public static readonly Expression<Func<CertificateRecord, CertificateRevocationRow>> Columns =
        c => new CertificateRevocationRow(c.SerialNumber, c.Status, c.RevokedAt, c.RevocationReason, c.InvalidityDate);

    /// <summary>True when the row says revoked (a superseded certificate is not: it stays good until it expires).</summary>
    public bool IsRevoked => Status == CertificateStatus.Revoked;

    /// <summary>
    /// RFC 6960 2.2: the OCSP answer for a row, or <see cref="RevocationStatus.Unknown"/> when there is none (a serial
    /// this CA never issued). Active and superseded certificates are good, also after notAfter.
    /// </summary>
    public static RevocationStatus StatusOf(CertificateRevocationRow? row) => row switch
    {
        null => RevocationStatus.Unknown,
        { IsRevoked: true } => RevocationStatus.Revoked(row.RevokedAtUtc, row.Reason),
        _ => RevocationStatus.Good,
    };

    /// <summary>RFC 5280 5.1.2.6: the CRL entry of a revoked row.</summary>
    public RevokedCertificate ToRevokedCertificate() => IsRevoked
        ? new RevokedCertificate(Core.Primitives.SerialNumber.Parse(SerialNumber), RevokedAtUtc, Reason,
            InvalidityDate is { } invalidity ? Utc(invalidity) : null)
        : throw new InvalidOperationException($"Certificate {SerialNumber} is not revoked; it has no CRL entry.");

    /// <summary>
    /// The update that revokes a row: status, revocation time, reason name and invalidity date, written together so
    /// <see cref="StatusOf"/> and <see cref="ToRevokedCertificate"/> read back what was written.
    /// </summary>
    public static void SetRevoked(UpdateSettersBuilder<CertificateRecord> setters, DateTime revokedAtUtc, RevocationReason reason, DateTime? invalidityDateUtc) =>
        setters
            .SetProperty(c => c.Status, CertificateStatus.Revoked)
            .SetProperty(c => c.RevokedAt, revokedAtUtc)
            .SetProperty(c => c.RevocationReason, reason.ToName())
            .SetProperty(c => c.InvalidityDate, invalidityDateUtc);

    private DateTimeOffset RevokedAtUtc => Utc(RevokedAt
        ?? throw new InvalidOperationException($"Certificate {SerialNumber} is stored as revoked without a revocation time."));

    private RevocationReason Reason =>
        RevocationReasons.TryParse(RevocationReason, out var reason) ? reason : Core.Revocation.RevocationReason.Unspecified;

    private static DateTimeOffset Utc(DateTime value) => new(value, TimeSpan.Zero);
}
