using Mediator;
using Microsoft.EntityFrameworkCore;
using PkiService.Api.Infrastructure;
using PkiService.Core.Errors;
using PkiService.Persistence;
using PkiService.Api.Audit;
using PkiService.Api.Authentication;

namespace PkiService.Api.Features.ApiKeys;

/// <summary>Deletes (revokes) an API key: it stops working at once. The last active admin key cannot be deleted.</summary>
public sealed record DeleteApiKey(string Id) : ICommand<ApiKeyView>;

public sealed partial class DeleteApiKeyHandler(PkiDbContext db, AuditTrail audit, TimeProvider time, ILogger<DeleteApiKeyHandler> logger)
    : ICommandHandler<DeleteApiKey, ApiKeyView>
{
    public async ValueTask<ApiKeyView> Handle(DeleteApiKey command, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var key = await db.ApiKeys.FirstOrDefaultAsync(k => k.Id == command.Id, cancellationToken)
            ?? throw new NotFoundException($"No API key with id '{command.Id}'; GET /api/v1/api-keys lists them.");
        if (key.RevokedAt is not null)
        {
            throw new ConflictException($"API key '{key.Id}' was already deleted at {key.RevokedAt:O}.");
        }
        if (key.Role == ApiRoles.Admin
            && !await db.ApiKeys.AnyAsync(k => k.Id != key.Id && k.Role == ApiRoles.Admin && k.RevokedAt == null, cancellationToken))
        {
            throw new ConflictException($"API key '{key.Id}' is the last active admin key; create another admin key first.");
        }
        key.RevokedAt = time.GetUtcNow().UtcDateTime;
        await audit.AppendAsync(new AuditEntry(audit.CurrentApiKeyActor, "apikey.delete", key.Id, Success: true, $"role {key.Role}"), cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        LogDeleted(logger, key.Id, key.Role);
        return ApiKeyView.From(key);
    }

    [LoggerMessage(EventId = 2102, EventName = "ApiKeyDeleted", Level = LogLevel.Warning, Message = "Deleted API key {ApiKeyId} with role {Role}")]
    private static partial void LogDeleted(ILogger logger, string apiKeyId, string role);
}
