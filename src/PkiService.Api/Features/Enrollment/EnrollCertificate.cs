using PkiService.Core.Errors;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using PkiService.Api.Infrastructure;
using PkiService.Core.Authorities;
using PkiService.Core.Issuance;
using PkiService.Core.Primitives;
using PkiService.Persistence;
using PkiService.Persistence.Entities;
using PkiService.Api.Audit;
using PkiService.Api.Issuance;

namespace PkiService.Api.Features.Enrollment;

/// <summary>Body of POST /api/v1/enroll.</summary>
/// <param name="Csr">PEM PKCS#10 certification request.</param>
/// <param name="Validity">Optional ISO 8601 duration such as P90D; capped by the profile's maximum and the token's maxValidity.</param>
public sealed record EnrollRequest(string? Csr, string? Validity);

/// <summary>Enrolls a CSR with a one-time token.</summary>
public sealed record EnrollCertificate(string? Token, string? Csr, string? Validity) : ICommand<EnrollmentResponse>;

/// <summary>
/// Checks the token, then the CSR, signs, then has <see cref="IssuanceCommitter"/> consume the token and store the
/// certificate in one transaction. Nothing is consumed when any check fails, and nothing is returned before the commit.
/// </summary>
public sealed partial class EnrollCertificateHandler(
    PkiDbContext db,
    AuditTrail audit,
    CertificateIssuer issuer,
    IssuanceCommitter committer,
    CaHierarchy hierarchy,
    TimeProvider time,
    PkiMetrics metrics,
    AnonymousFailureAudit anonymousFailures,
    ILogger<EnrollCertificateHandler> logger)
    : ICommandHandler<EnrollCertificate, EnrollmentResponse>
{
    /// <summary>
    /// Compiled once per model: the look-up runs on every enrollment, and translating it each time costs more than
    /// running it. A compiled query serves only the model it was compiled against, and each database provider has its
    /// own model (a process that hosts both, as the tests do, would otherwise fail every enrollment on the second).
    /// </summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IModel, Func<PkiDbContext, byte[], CancellationToken, Task<EnrollmentTokenRecord?>>> TokenBySecretHash = new();

    private static Func<PkiDbContext, byte[], CancellationToken, Task<EnrollmentTokenRecord?>> TokenQuery(PkiDbContext db) =>
        TokenBySecretHash.GetValue(db.Model, _ => EF.CompileAsyncQuery((PkiDbContext context, byte[] hash, CancellationToken _) =>
            context.EnrollmentTokens.AsNoTracking().FirstOrDefault(t => t.SecretHash == hash)));

    public async ValueTask<EnrollmentResponse> Handle(EnrollCertificate command, CancellationToken cancellationToken)
    {
        EnrollmentTokenRecord? token = null;
        try
        {
            var response = await EnrollAsync(command, found => token = found, cancellationToken);
            metrics.CertificateIssued(token?.Profile, "success");
            return response;
        }
        catch (Exception exception)
        {
            metrics.CertificateIssued(token?.Profile, PkiMetrics.Outcome(exception));
            if (exception is AuthenticationFailedException or CsrRejectedException)
            {
                // A usable token's failures are its own rows: they need the token's secret, and the enrollment rate limit
                // bounds them per address. Without one (missing, unknown, used, expired or revoked token) anyone can send
                // them: summarized by AnonymousFailureAudit instead of a write each.
                if (token is null)
                {
                    await anonymousFailures.RecordAsync(audit, new AuditEntry(AuditTrail.Anonymous, "certificate.issue", null, Success: false, exception.Message), CancellationToken.None);
                }
                else
                {
                    await audit.AppendAsync(new AuditEntry(AuditTrail.TokenActor(token.Id), "certificate.issue", null, Success: false, exception.Message), CancellationToken.None);
                }
            }
            throw;
        }
    }

    private async Task<EnrollmentResponse> EnrollAsync(EnrollCertificate command, Action<EnrollmentTokenRecord> identified, CancellationToken cancellationToken)
    {
        var token = await FindUsableTokenAsync(command.Token, cancellationToken);
        identified(token);
        var grant = IssuanceGrants.FromToken(token);
        var request = CertificationRequest.FromPem(command.Csr!);
        TimeSpan? validity = command.Validity is null ? null : IsoDuration.TryParse(command.Validity, out var v) ? v : null;
        // Resolve once before the transaction so a name the token does not allow is refused without touching the token.
        grant.Names.Resolve(request, grant.Profile);

        // Sign outside any lock, then let the committer consume the token and store the record in a shared transaction
        // (group commit). The response is built only from a committed record.
        for (var attempt = 0; attempt < CertificateIssuer.SerialAttempts; attempt++)
        {
            var (issued, record) = issuer.Sign(request, grant, validity);
            var outcome = await committer.CommitAsync(new PendingIssuance(record, grant, new AuditEntry(
                AuditTrail.TokenActor(token.Id), "certificate.issue", issued.SerialNumber.Hex, Success: true,
                $"{issued.Subject}, profile {issued.Profile}, key {request.KeyDescription}, notAfter {issued.NotAfter:O}; token consumed",
                audit.CurrentClientIp)));
            switch (outcome)
            {
                case IssuanceCommitOutcome.Committed:
                    LogIssued(logger, issued.SerialNumber.Hex, issued.Subject, issued.Profile, token.Id, issued.NotAfter, request.KeyDescription);
                    return new EnrollmentResponse(issued.SerialNumber.Hex, issued.Pem, hierarchy.ChainPem, issued.NotBefore, issued.NotAfter);
                case IssuanceCommitOutcome.TokenNotUsable:
                    throw new AuthenticationFailedException("The enrollment token has already been used, revoked or has expired; ask for a new one.");
                case IssuanceCommitOutcome.SerialTaken:
                    issuer.ReportSerialCollision(issued.SerialNumber.Hex);
                    break;
            }
        }
        throw CertificateIssuer.NoUnusedSerial();
    }

    private async Task<EnrollmentTokenRecord> FindUsableTokenAsync(string? presented, CancellationToken cancellationToken)
    {
        if (presented is null)
        {
            throw new AuthenticationFailedException("Send the enrollment token as 'Authorization: Bearer <token>'.");
        }
        var hash = Secrets.Hash(presented);
        var token = await TokenQuery(db)(db, hash, cancellationToken);
        if (token is null || !Secrets.Matches(token.SecretHash, presented))
        {
            throw new AuthenticationFailedException("The enrollment token is not valid.");
        }
        if (token.StateAt(time.GetUtcNow().UtcDateTime) != EnrollmentTokenState.Unused)
        {
            throw new AuthenticationFailedException("The enrollment token has already been used, revoked or has expired; ask for a new one.");
        }
        return token;
    }

    [LoggerMessage(EventId = 3101, EventName = "CertificateIssued", Level = LogLevel.Information,
        Message = "Issued {SerialNumber} to {Subject} (profile {Profile}, token {TokenId}, key {KeyDescription}), valid until {NotAfter:O}")]
    private static partial void LogIssued(ILogger logger, string serialNumber, string subject, string profile, string tokenId, DateTimeOffset notAfter, string keyDescription);
}
