using Microsoft.EntityFrameworkCore;
using PkiService.Core.Authorities;
using PkiService.Core.Issuance;
using PkiService.Core.Primitives;
using PkiService.Persistence;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Issuance;

/// <summary>
/// The step every issuance shares (enrollment, renewal, the service's own TLS listener): draw a serial, sign with the
/// issuing CA and build the record. <see cref="IssueAndAddAsync"/> also checks the serial and adds the record to the
/// caller's context, whose transaction and commit the caller owns; enrollment hands the signed record to
/// <see cref="IssuanceCommitter"/> instead. Either way a certificate is never handed out before its record is stored.
/// </summary>
public sealed partial class CertificateIssuer(
    PkiDbContext db,
    IssuingAuthority issuingAuthority,
    CaHierarchy hierarchy,
    TimeProvider time,
    ILogger<CertificateIssuer> logger)
{
    /// <summary>How many fresh serials an issuance tries before giving up (each collision is a 2^-128 event).</summary>
    public const int SerialAttempts = 5;

    /// <summary>Signs the certificate <paramref name="grant"/> allows and adds its (unsaved) record, attributed as the grant says.</summary>
    public async Task<IssuedCertificate> IssueAndAddAsync(
        CertificationRequest request,
        IssuanceGrant grant,
        TimeSpan? validity,
        CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < SerialAttempts; attempt++)
        {
            var (issued, record) = Sign(request, grant, validity);
            // RFC 5280 4.1.2.2: serials are unique per CA. A 128-bit collision is practically impossible, but checked anyway.
            if (await db.Certificates.AnyAsync(c => c.SerialNumber == record.SerialNumber, cancellationToken))
            {
                ReportSerialCollision(record.SerialNumber);
                continue;
            }
            db.Certificates.Add(record);
            return issued;
        }
        throw NoUnusedSerial();
    }

    /// <summary>Logs that a drawn serial was already taken; the caller signs again with another.</summary>
    public void ReportSerialCollision(string serialNumber) => LogSerialCollision(logger, serialNumber);

    /// <summary>The error when <see cref="SerialAttempts"/> serials in a row were all taken.</summary>
    public static InvalidOperationException NoUnusedSerial() => new("Could not draw an unused serial number.");

    /// <summary>
    /// Draws a random serial and signs, without touching the database; the record it returns is not yet stored and its
    /// serial not yet checked for uniqueness (whoever stores it does both in one transaction).
    /// </summary>
    public (IssuedCertificate Issued, CertificateRecord Record) Sign(CertificationRequest request, IssuanceGrant grant, TimeSpan? validity)
    {
        ArgumentNullException.ThrowIfNull(grant);
        var issued = issuingAuthority.Issue(new IssuanceOrder(SerialNumber.NewRandom(), request, grant, validity));
        var record = new CertificateRecord
        {
            SerialNumber = issued.SerialNumber.Hex,
            IssuerFingerprint = hierarchy.Issuing.Fingerprint,
            Subject = issued.Subject,
            CommonName = issued.CommonName,
            SubjectAltNames = issued.SubjectAltNames.Select(s => s.Value).ToList(),
            Profile = issued.Profile,
            NotBefore = issued.NotBefore.UtcDateTime,
            NotAfter = issued.NotAfter.UtcDateTime,
            IssuedAt = time.GetUtcNow().UtcDateTime,
            Status = CertificateStatus.Active,
            Der = issued.Der,
            EnrollmentTokenId = grant.EnrollmentTokenId,
            ContactEmail = grant.ContactEmail,
        };
        return (issued, record);
    }

    [LoggerMessage(EventId = 3102, EventName = "SerialCollision", Level = LogLevel.Warning,
        Message = "Serial {SerialNumber} already exists; drawing another")]
    private static partial void LogSerialCollision(ILogger logger, string serialNumber);
}
