using Mediator;
using Microsoft.EntityFrameworkCore;
using PkiService.Core.Errors;
using PkiService.Persistence;
using PkiService.Api.Audit;

namespace PkiService.Api.Features.Enrollment;

/// <summary>Revokes an unused enrollment token: it is refused from then on, like a used one.</summary>
public sealed record RevokeEnrollmentToken(string Id) : ICommand<EnrollmentTokenView>;

public sealed partial class RevokeEnrollmentTokenHandler(PkiDbContext db, AuditTrail audit, TimeProvider time, ILogger<RevokeEnrollmentTokenHandler> logger)
    : ICommandHandler<RevokeEnrollmentToken, EnrollmentTokenView>
{
    public async ValueTask<EnrollmentTokenView> Handle(RevokeEnrollmentToken command, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var token = await db.EnrollmentTokens.FirstOrDefaultAsync(t => t.Id == command.Id, cancellationToken)
            ?? throw new NotFoundException($"No enrollment token with id '{command.Id}'; GET /api/v1/enrollment-tokens lists them.");
        if (token.RevokedAt is not null)
        {
            throw new ConflictException($"Enrollment token '{token.Id}' was already revoked at {token.RevokedAt:O}.");
        }
        if (token.UsedAt is not null)
        {
            throw new ConflictException($"Enrollment token '{token.Id}' was already used at {token.UsedAt:O}; revoke the certificate it issued instead.");
        }
        token.RevokedAt = now;
        await audit.AppendAsync(new AuditEntry(audit.CurrentApiKeyActor, "token.revoke", token.Id, Success: true, $"CN {token.CommonName}"), cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        LogRevoked(logger, token.Id);
        return EnrollmentTokenView.From(token, now);
    }

    [LoggerMessage(EventId = 3002, EventName = "EnrollmentTokenRevoked", Level = LogLevel.Warning, Message = "Revoked enrollment token {TokenId}")]
    private static partial void LogRevoked(ILogger logger, string tokenId);
}
