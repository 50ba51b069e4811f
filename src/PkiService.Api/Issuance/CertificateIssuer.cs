using PkiService.Core.Authorities;
using PkiService.Core.Issuance;
using PkiService.Core.Primitives;
using PkiService.Api.Audit;
using PkiService.Persistence;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Issuance;

/// <summary>
/// The step every issuance shares (token enrollment and renewal from any front end, the service's own TLS listener):
/// draw a serial, sign with the issuing CA, and have <see cref="IssuanceCommitter"/> store the record, its audit event
/// and spend what the grant spends in one transaction. The one serial-retry loop lives here. A certificate is never
/// handed out before its record is committed.
/// </summary>
public sealed partial class CertificateIssuer(
    IssuingAuthority issuingAuthority,
    IssuanceCommitter committer,
    CaHierarchy hierarchy,
    TimeProvider time,
    ILogger<CertificateIssuer> logger)
{
    /// <summary>How many fresh serials an issuance tries before giving up (each collision is a 2^-128 event).</summary>
    public const int SerialAttempts = 5;

    /// <summary>
    /// Signs the certificate <paramref name="grant"/> allows and returns it once committed with the audit event
    /// <paramref name="audit"/> makes for it; throws what <paramref name="notUsable"/> makes when what the grant spends
    /// was spent meanwhile (nothing is stored then).
    /// </summary>
    /// <param name="request">The CSR: its public key, and the names the grant resolves against.</param>
    /// <param name="grant">Who may get which names under which profile, and what the issuance spends.</param>
    /// <param name="validity">Requested validity; the grant's cap and the profile's maximum apply.</param>
    /// <param name="audit">The audit event committed with the certificate (null for none).</param>
    /// <param name="notUsable">The refusal when what the grant spends was spent meanwhile.</param>
    /// <param name="now">
    /// Commit in a transaction of its own right away instead of with the group commit's next batch (the service's own
    /// certificates, issued while the host starts).
    /// </param>
    public async Task<IssuedCertificate> IssueAsync(
        CertificationRequest request,
        IssuanceGrant grant,
        TimeSpan? validity,
        Func<IssuedCertificate, AuditEntry?> audit,
        Func<Exception> notUsable,
        bool now = false)
    {
        ArgumentNullException.ThrowIfNull(audit);
        ArgumentNullException.ThrowIfNull(notUsable);
        for (var attempt = 0; attempt < SerialAttempts; attempt++)
        {
            var (issued, record) = Sign(request, grant, validity);
            var pending = new PendingIssuance(record, grant, audit(issued));
            var outcome = now ? await committer.CommitNowAsync(pending) : await committer.CommitAsync(pending);
            switch (outcome)
            {
                case IssuanceCommitOutcome.Committed:
                    return issued;
                case IssuanceCommitOutcome.NotUsable:
                    throw notUsable();
                case IssuanceCommitOutcome.SerialTaken:
                    // RFC 5280 4.1.2.2: serials are unique per CA. A 128-bit collision is practically impossible, but checked anyway.
                    LogSerialCollision(logger, issued.SerialNumber.Hex);
                    break;
            }
        }
        throw new InvalidOperationException("Could not draw an unused serial number.");
    }

    /// <summary>
    /// Draws a random serial and signs, without touching the database; the record it returns is not yet stored and its
    /// serial not yet checked for uniqueness (whoever stores it does both in one transaction).
    /// </summary>
    private (IssuedCertificate Issued, CertificateRecord Record) Sign(CertificationRequest request, IssuanceGrant grant, TimeSpan? validity)
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
