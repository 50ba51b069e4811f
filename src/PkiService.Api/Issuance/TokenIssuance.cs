using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using PkiService.Api.Audit;
using PkiService.Api.Infrastructure;
using PkiService.Core.Errors;
using PkiService.Core.Issuance;
using PkiService.Persistence;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Issuance;

/// <summary>
/// Issuance for whoever holds a one-time enrollment token, whatever the front end (REST, EST): checks the token, then
/// the CSR and its names, signs, then has <see cref="IssuanceCommitter"/> consume the token and store the certificate
/// in one transaction. Nothing is consumed when any check fails, and nothing is returned before the commit.
/// </summary>
public sealed partial class TokenIssuance(
    PkiDbContext db,
    AuditTrail audit,
    CertificateIssuer issuer,
    TimeProvider time,
    PkiMetrics metrics,
    AnonymousFailureAudit anonymousFailures,
    ILogger<TokenIssuance> logger)
{
    private const string NotUsableMessage = "The enrollment token has already been used, revoked or has expired; ask for a new one.";

    /// <summary>
    /// Compiled once per model: the look-up runs on every enrollment, and translating it each time costs more than
    /// running it. A compiled query serves only the model it was compiled against, and each database provider has its
    /// own model (a process that hosts both, as the tests do, would otherwise fail every enrollment on the second).
    /// </summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IModel, Func<PkiDbContext, byte[], CancellationToken, Task<EnrollmentTokenRecord?>>> TokenBySecretHash = new();

    private static Func<PkiDbContext, byte[], CancellationToken, Task<EnrollmentTokenRecord?>> TokenQuery(PkiDbContext db) =>
        TokenBySecretHash.GetValue(db.Model, _ => EF.CompileAsyncQuery((PkiDbContext context, byte[] hash, CancellationToken _) =>
            context.EnrollmentTokens.AsNoTracking().FirstOrDefault(t => t.SecretHash == hash)));

    /// <summary>Checks the token, reads and checks the CSR, signs, and returns only once the certificate is committed and the token consumed.</summary>
    public async Task<IssuedCertificate> IssueAsync(TokenIssuanceRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        EnrollmentTokenRecord? token = null;
        try
        {
            var issued = await IssueAsync(request, found => token = found, cancellationToken);
            metrics.CertificateIssued(token?.Profile, "success", request.Protocol.Label());
            return issued;
        }
        catch (Exception exception)
        {
            metrics.CertificateIssued(token?.Profile, PkiMetrics.Outcome(exception), request.Protocol.Label());
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
                    await audit.AppendAsync(new AuditEntry(AuditTrail.TokenActor(token.Id), "certificate.issue", null, Success: false,
                        exception.Message + Via(request.Protocol)), CancellationToken.None);
                }
            }
            throw;
        }
    }

    /// <summary>How the audit row names the front end: nothing for the REST API (as before EST), ", via est" otherwise.</summary>
    internal static string Via(IssuanceProtocol protocol) => protocol == IssuanceProtocol.Rest ? "" : ", via " + protocol.Label();

    private async Task<IssuedCertificate> IssueAsync(TokenIssuanceRequest command, Action<EnrollmentTokenRecord> identified, CancellationToken cancellationToken)
    {
        var token = await FindUsableTokenAsync(command.Token, command.Hints, cancellationToken);
        identified(token);
        if (command.Profile is { } profile && !string.Equals(profile, token.Profile, StringComparison.Ordinal))
        {
            var where = command.Hints is { } hints ? hints.WhereProfileIs(token.Profile) : $"the '{token.Profile}' path";
            throw new CsrRejectedException($"The enrollment token is for the '{token.Profile}' profile, not '{profile}'; enroll at {where}.");
        }
        var grant = IssuanceGrants.FromToken(token);
        var request = command.Csr();
        // Resolve before signing so a name the token does not allow is refused without touching the token.
        grant.Names.Resolve(request, grant.Profile);

        // Sign outside any lock, then let the committer consume the token and store the record in a shared transaction
        // (group commit). The certificate is returned only from a committed record.
        var issued = await issuer.IssueAsync(request, grant, command.Validity,
            issued => new AuditEntry(AuditTrail.TokenActor(token.Id), "certificate.issue", issued.SerialNumber.Hex, Success: true,
                $"{issued.Subject}, profile {issued.Profile}, key {request.KeyDescription}, notAfter {issued.NotAfter:O}; token consumed{Via(command.Protocol)}",
                audit.CurrentClientIp),
            () => new AuthenticationFailedException(NotUsableMessage));
        LogIssued(logger, issued.SerialNumber.Hex, issued.Subject, issued.Profile, token.Id, issued.NotAfter, request.KeyDescription, command.Protocol.Label());
        return issued;
    }

    private async Task<EnrollmentTokenRecord> FindUsableTokenAsync(string? presented, FrontEndHints? hints, CancellationToken cancellationToken)
    {
        if (presented is null)
        {
            throw new AuthenticationFailedException(hints?.HowToSendToken ?? "Send the enrollment token as 'Authorization: Bearer <token>'.");
        }
        var hash = Secrets.Hash(presented);
        var token = await TokenQuery(db)(db, hash, cancellationToken);
        if (token is null || !Secrets.Matches(token.SecretHash, presented))
        {
            throw new AuthenticationFailedException("The enrollment token is not valid.");
        }
        if (token.StateAt(time.GetUtcNow().UtcDateTime) != EnrollmentTokenState.Unused)
        {
            throw new AuthenticationFailedException(NotUsableMessage);
        }
        return token;
    }

    [LoggerMessage(EventId = 3101, EventName = "CertificateIssued", Level = LogLevel.Information,
        Message = "Issued {SerialNumber} to {Subject} (profile {Profile}, token {TokenId}, key {KeyDescription}, via {Protocol}), valid until {NotAfter:O}")]
    private static partial void LogIssued(ILogger logger, string serialNumber, string subject, string profile, string tokenId, DateTimeOffset notAfter, string keyDescription, string protocol);
}
