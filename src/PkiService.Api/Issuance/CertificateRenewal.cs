using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using PkiService.Api.Audit;
using PkiService.Api.Infrastructure;
using PkiService.Core.Authorities;
using PkiService.Core.Errors;
using PkiService.Core.Issuance;
using PkiService.Core.Primitives;
using PkiService.Persistence;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Issuance;

/// <summary>
/// Renewal for whoever presents an active certificate of ours as the TLS client certificate, whatever the front end
/// (REST <c>POST /api/v1/renew</c>, EST <c>simplereenroll</c>). Checks that the presented certificate chains to our
/// issuing CA, is within its validity, and is recorded here as active (not revoked, not superseded); checks that the
/// CSR keeps its CN and SANs and brings a new key; then <see cref="IssuanceCommitter"/> stores the new certificate and
/// marks the old one superseded in one transaction, only if it is still active (of two concurrent renewals one wins).
/// The new certificate keeps the profile, token and contact e-mail of the old one.
/// <para>
/// The presented certificate is not required to carry the clientAuth EKU: a <c>server</c> certificate renews itself
/// the same way. The EKU tells other relying parties what the key may be used for; here the relying party is this
/// service, which checks the certificate against its own issuing CA and database and authorizes only a renewal of that
/// certificate's own names under its own profile, so requiring clientAuth would only stop servers from rotating (step-ca
/// renews server certificates over mTLS the same way).
/// </para>
/// </summary>
public sealed partial class CertificateRenewal(
    PkiDbContext db,
    IOptions<RenewalKeyOptions> options,
    AuditTrail audit,
    CertificateIssuer issuer,
    CaHierarchy hierarchy,
    TimeProvider time,
    PkiMetrics metrics,
    AnonymousFailureAudit anonymousFailures,
    ILogger<CertificateRenewal> logger)
{
    /// <summary>Checks the client certificate, reads and checks the CSR, signs, and returns only once the new certificate is committed and the old one superseded.</summary>
    public async Task<IssuedCertificate> RenewAsync(RenewalRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        string? profile = null;
        SerialNumber? holder = null;
        var replayed = false;
        try
        {
            var issued = await RenewAsync(request, found => holder = found, found => profile = found, () => replayed = true, cancellationToken);
            // A renewal sent again gets the certificate the first one made: counted apart, so success counts certificates made.
            metrics.CertificateRenewed(profile, replayed ? "replayed" : "success", request.Protocol.Label());
            return issued;
        }
        catch (Exception exception)
        {
            metrics.CertificateRenewed(profile, PkiMetrics.Outcome(exception), request.Protocol.Label());
            if (exception is AuthenticationFailedException or CsrRejectedException)
            {
                await AuditFailureAsync(holder, exception.Message + TokenIssuance.Via(request.Protocol));
            }
            throw;
        }
    }

    /// <summary>
    /// A refusal with a certificate that chains to our issuing CA is the holder's own row: the TLS handshake proved the
    /// client holds that certificate's key, so the row names a real key holder, and their rate is bounded by
    /// <c>RateLimits:RenewalPerMinute</c> per address. Anything else (no certificate, an unparsable one, one from another
    /// CA, which anyone can mint by the thousand) is anonymous and summarized by <see cref="AnonymousFailureAudit"/>
    /// instead of a write each.
    /// </summary>
    private Task AuditFailureAsync(SerialNumber? holder, string reason) => holder is { } serial
        ? audit.AppendAsync(new AuditEntry(AuditTrail.CertificateActor(serial.Hex), "certificate.renew", null, Success: false, reason), CancellationToken.None)
        : anonymousFailures.RecordAsync(audit, new AuditEntry(AuditTrail.Anonymous, "certificate.renew", null, Success: false, reason), CancellationToken.None);

    private async Task<IssuedCertificate> RenewAsync(
        RenewalRequest command, Action<SerialNumber> holderFound, Action<string> profileFound, Action replayAnswered, CancellationToken cancellationToken)
    {
        var serial = VerifyChain(command.ClientCertificate, holderFound);
        var record = await db.Certificates.AsNoTracking()
            .FirstOrDefaultAsync(c => c.SerialNumber == serial.Hex && c.IssuerFingerprint == hierarchy.Issuing.Fingerprint, cancellationToken);
        if (record is null || !record.Der.AsSpan().SequenceEqual(command.ClientCertificate))
        {
            throw Refuse(serial, "no record", "The client certificate is not one this service issued.");
        }
        profileFound(record.Profile);
        switch (record.Status)
        {
            case CertificateStatus.Revoked:
                throw Refuse(serial, "revoked", $"The client certificate {serial.Hex} is revoked ({record.RevocationReason}); enroll again with a new token.");
            case CertificateStatus.Superseded:
                if (await ReplayAsync(command, record, cancellationToken) is { } replayed)
                {
                    replayAnswered();
                    return replayed;
                }
                throw Refuse(serial, "superseded", $"The client certificate {serial.Hex} was already renewed (by {record.SupersededBy}); renew with the newest certificate.");
        }
        if (command.Profile is { } wanted && !string.Equals(wanted, record.Profile, StringComparison.Ordinal))
        {
            var where = command.Hints is { } hints ? hints.WhereProfileIs(record.Profile) : $"the '{record.Profile}' path";
            throw new CsrRejectedException($"The client certificate {serial.Hex} is of the '{record.Profile}' profile, not '{wanted}'; renew at {where}.");
        }
        var grant = IssuanceGrants.FromCurrentCertificate(record, await TokenValidityCapAsync(record, cancellationToken));

        var request = command.Csr();
        grant.Names.RequireExactly(request);
        var validity = command.Validity ?? OriginalLifetime(record);
        RefuseKeyReuse(request, record, serial);

        // The committer supersedes the old certificate only if it is still active under the write lock: of two renewals
        // (or a renewal and a revocation) racing for one certificate, only one finds it so.
        var issued = await issuer.IssueAsync(request, grant, validity,
            issued => new AuditEntry(AuditTrail.CertificateActor(serial.Hex), "certificate.renew", issued.SerialNumber.Hex, Success: true,
                $"{issued.Subject}, profile {issued.Profile}, key {request.KeyDescription}, notAfter {issued.NotAfter:O}{TokenIssuance.Via(command.Protocol)}",
                audit.CurrentClientIp),
            () => Refuse(serial, "raced", $"The client certificate {serial.Hex} was renewed or revoked meanwhile; renew with the newest certificate."));

        LogRenewed(logger, serial.Hex, issued.SerialNumber.Hex, issued.Subject, issued.NotAfter, request.KeyDescription, command.Protocol.Label());
        return issued;
    }

    /// <summary>
    /// The renewal of <paramref name="superseded"/> sent again after its answer was lost (a dropped connection, a proxy
    /// timeout): when the CSR is for the key of the certificate that replaced it, that certificate is still active and
    /// was issued within <see cref="ReplayWindow"/>, the same certificate is answered again instead of a refusal that
    /// would leave a renewal agent locked out. Nothing new is signed or stored, so a certificate still renews exactly
    /// once. Only the holder of both keys gets here: the TLS handshake proved the old one, the CSR's signature the new.
    /// </summary>
    private async Task<IssuedCertificate?> ReplayAsync(RenewalRequest command, CertificateRecord superseded, CancellationToken cancellationToken)
    {
        if (superseded.SupersededBy is not { } successorSerial)
        {
            return null;
        }
        var successor = await db.Certificates.AsNoTracking()
            .FirstOrDefaultAsync(c => c.SerialNumber == successorSerial && c.IssuerFingerprint == hierarchy.Issuing.Fingerprint, cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        if (successor is not { Status: CertificateStatus.Active } || now - successor.IssuedAt > ReplayWindow)
        {
            return null;
        }
        var request = command.Csr();
        if (!request.HasSameKeyAs(Org.BouncyCastle.Asn1.X509.X509CertificateStructure.GetInstance(successor.Der).SubjectPublicKeyInfo))
        {
            return null;
        }
        LogReplayed(logger, superseded.SerialNumber, successor.SerialNumber);
        return new IssuedCertificate(
            SerialNumber.Parse(successor.SerialNumber), successor.Subject, successor.CommonName,
            successor.SubjectAltNames.Select(SubjectAltName.Classify).ToList(), successor.Profile,
            new DateTimeOffset(successor.NotBefore, TimeSpan.Zero), new DateTimeOffset(successor.NotAfter, TimeSpan.Zero), successor.Der);
    }

    /// <summary>How long after a renewal the same renewal, sent again, is answered with the certificate it made.</summary>
    public static readonly TimeSpan ReplayWindow = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Refuses a CSR for the key the presented certificate already certifies, unless <c>Renewal:AllowKeyReuse</c>.
    /// RFC 7030 4.2.2 allows both a renewal with the same key and a rekey, but a renewal is the moment to rotate the key,
    /// and step-ca and EST clients make a new one every time: the same key again is usually a client bug that would keep
    /// a possibly exposed key in service. Compared as keys, not as encodings (<see cref="CertificationRequest.HasSameKeyAs"/>),
    /// so re-encoding the key (a compressed EC point, an RSA-PSS OID) does not get around it.
    /// </summary>
    private void RefuseKeyReuse(CertificationRequest request, CertificateRecord record, SerialNumber serial)
    {
        if (options.Value.AllowKeyReuse
            || !request.HasSameKeyAs(Org.BouncyCastle.Asn1.X509.X509CertificateStructure.GetInstance(record.Der).SubjectPublicKeyInfo))
        {
            return;
        }
        LogRefused(logger, serial.Hex, "same key");
        throw new CsrRejectedException(
            $"The CSR is for the key that certificate {serial.Hex} already certifies; a renewal needs a new key: generate one ('openssl genpkey'), make the CSR with it and renew again.");
    }

    /// <summary>
    /// Without a requested validity, a renewal gets the lifetime the old certificate was issued with (notAfter - notBefore,
    /// less the backdate every issuance adds), so it never lengthens a certificate unasked: a one-minute certificate
    /// renews for one minute. Whatever is asked, the grant's caps (the token's, below) and the profile's maximum are
    /// applied by the issuer, as for enrollment.
    /// </summary>
    private static TimeSpan OriginalLifetime(CertificateRecord record)
    {
        var lifetime = record.NotAfter - record.NotBefore;
        return lifetime > IssuingAuthority.Backdate ? lifetime - IssuingAuthority.Backdate : lifetime;
    }

    /// <summary>
    /// The validity cap of the enrollment token the certificate descends from, looked up by id even when the token is used
    /// or expired: its cap outlives it.
    /// </summary>
    private async Task<TimeSpan?> TokenValidityCapAsync(CertificateRecord record, CancellationToken cancellationToken) =>
        record.EnrollmentTokenId is null
            ? null
            : await db.EnrollmentTokens.AsNoTracking()
                .Where(t => t.Id == record.EnrollmentTokenId)
                .Select(t => t.MaxValidity)
                .FirstOrDefaultAsync(cancellationToken);

    /// <summary>
    /// RFC 5280 6.1: builds the path from the presented certificate to our root through our issuing CA, at the
    /// injected time. Revocation is not checked here (RevocationMode NoCheck): the database is the authority on status.
    /// </summary>
    /// <param name="der">The TLS client certificate, null when none was sent.</param>
    /// <param name="holderFound">Called once the certificate is known to be ours (signed by our issuing CA), even if not time valid.</param>
    private SerialNumber VerifyChain(byte[]? der, Action<SerialNumber> holderFound)
    {
        if (der is null || der.Length == 0)
        {
            throw new AuthenticationFailedException(
                "Present the certificate to renew as the TLS client certificate (curl --cert current.pem --key current.key).");
        }
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadCertificate(der);
        }
        catch (CryptographicException)
        {
            throw new AuthenticationFailedException("The client certificate cannot be parsed.");
        }
        // An external root's intermediates (none by default), for the path from the issuing CA to the root.
        var intermediates = hierarchy.Intermediates.Select(i => X509CertificateLoader.LoadCertificate(i.Der)).ToArray();
        try
        {
            using (certificate)
            using (var root = X509CertificateLoader.LoadCertificate(hierarchy.Root.Der))
            using (var issuing = X509CertificateLoader.LoadCertificate(hierarchy.Issuing.Der))
            using (var chain = new X509Chain())
            {
                var serial = SerialNumber.FromUnsignedBytes(certificate.SerialNumberBytes.Span);
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(root);
                chain.ChainPolicy.ExtraStore.Add(issuing);
                chain.ChainPolicy.ExtraStore.AddRange(intermediates);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                chain.ChainPolicy.DisableCertificateDownloads = true;
                chain.ChainPolicy.VerificationTime = time.GetUtcNow().UtcDateTime;
                chain.ChainPolicy.VerificationTimeIgnored = false;
                var valid = chain.Build(certificate);
                if (valid && chain.ChainElements.Count == 3 + hierarchy.Intermediates.Count && chain.ChainElements[1].Certificate.RawDataMemory.Span.SequenceEqual(hierarchy.Issuing.Der))
                {
                    holderFound(serial);
                    return serial;
                }
                if (chain.ChainStatus.Any(s => s.Status.HasFlag(X509ChainStatusFlags.NotTimeValid))
                    && chain.ChainElements.Count == 3 + hierarchy.Intermediates.Count && chain.ChainElements[1].Certificate.RawDataMemory.Span.SequenceEqual(hierarchy.Issuing.Der))
                {
                    if (chain.ChainStatus.All(s => s.Status is X509ChainStatusFlags.NotTimeValid or X509ChainStatusFlags.NoError))
                    {
                        holderFound(serial); // our signature, only out of its validity: still attributable
                    }
                    throw Refuse(serial, "not time valid",
                        $"The client certificate {serial.Hex} is not valid now (valid {certificate.NotBefore.ToUniversalTime():O} to {certificate.NotAfter.ToUniversalTime():O}); an expired certificate cannot renew itself, enroll again with a new token.");
                }
                throw Refuse(serial, "untrusted chain", "The client certificate was not issued by this service's issuing CA.");
            }
        }
        finally
        {
            foreach (var intermediate in intermediates)
            {
                intermediate.Dispose();
            }
        }
    }

    private AuthenticationFailedException Refuse(SerialNumber serial, string reason, string message)
    {
        LogRefused(logger, serial.Hex, reason);
        return new AuthenticationFailedException(message);
    }

    [LoggerMessage(EventId = 8001, EventName = "CertificateRenewed", Level = LogLevel.Information,
        Message = "Renewed {OldSerialNumber} as {SerialNumber} for {Subject} (key {KeyDescription}, via {Protocol}), valid until {NotAfter:O}")]
    private static partial void LogRenewed(ILogger logger, string oldSerialNumber, string serialNumber, string subject, DateTimeOffset notAfter, string keyDescription, string protocol);

    [LoggerMessage(EventId = 8003, EventName = "RenewalReplayed", Level = LogLevel.Information,
        Message = "Answered the renewal of {OldSerialNumber} again with {SerialNumber}, which it made (the first answer was lost)")]
    private static partial void LogReplayed(ILogger logger, string oldSerialNumber, string serialNumber);

    [LoggerMessage(EventId = 8002, EventName = "RenewalRefused", Level = LogLevel.Warning,
        Message = "Refused renewal by client certificate {SerialNumber}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string serialNumber, string reason);
}
