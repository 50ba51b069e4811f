using Microsoft.EntityFrameworkCore;
using PkiService.Core.Authorities;
using PkiService.Core.Issuance;
using PkiService.Core.Primitives;
using PkiService.Persistence;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Features.Enrollment;

/// <summary>
/// The step every issuance shares (enrollment, renewal, the service's own TLS listener): draw an unused serial, sign
/// with the issuing CA and add the record to the context. The caller owns the transaction and the commit, so a
/// certificate is never handed out before its record is stored.
/// </summary>
public sealed partial class CertificateIssuer(
    PkiDbContext db,
    IssuingAuthority issuingAuthority,
    CaHierarchy hierarchy,
    TimeProvider time,
    ILogger<CertificateIssuer> logger)
{
    private const int SerialAttempts = 5;

    /// <summary>Signs the certificate and adds its (unsaved) record, with the token and contact it is attributed to.</summary>
    public async Task<IssuedCertificate> IssueAndAddAsync(
        CertificationRequest request,
        NameAuthorization names,
        CertificateProfile profile,
        TimeSpan? validity,
        string? enrollmentTokenId,
        string? contactEmail,
        CancellationToken cancellationToken)
    {
        IssuedCertificate? issued = null;
        for (var attempt = 0; attempt < SerialAttempts && issued is null; attempt++)
        {
            var serial = SerialNumber.NewRandom();
            // RFC 5280 4.1.2.2: serials are unique per CA. A 128-bit collision is practically impossible, but checked anyway.
            if (await db.Certificates.AnyAsync(c => c.SerialNumber == serial.Hex, cancellationToken))
            {
                LogSerialCollision(logger, serial.Hex);
                continue;
            }
            issued = issuingAuthority.Issue(new IssuanceOrder(serial, request, names, profile, validity));
        }
        if (issued is null)
        {
            throw new InvalidOperationException("Could not draw an unused serial number.");
        }

        db.Certificates.Add(new CertificateRecord
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
            EnrollmentTokenId = enrollmentTokenId,
            ContactEmail = contactEmail,
        });
        return issued;
    }

    [LoggerMessage(EventId = 3102, EventName = "SerialCollision", Level = LogLevel.Warning,
        Message = "Serial {SerialNumber} already exists; drawing another")]
    private static partial void LogSerialCollision(ILogger logger, string serialNumber);
}
