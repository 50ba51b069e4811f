using Mediator;
using PkiService.Api.Infrastructure;
using PkiService.Persistence;
using PkiService.Persistence.Entities;
using PkiService.Api.Audit;
using PkiService.Api.Issuance;

namespace PkiService.Api.Features.ApiKeys;

/// <summary>Body of POST /api/v1/api-keys.</summary>
/// <param name="Name">What the key is for, e.g. "ci-enroller".</param>
/// <param name="Role">admin, enroller or auditor.</param>
/// <param name="NamePolicy">Optional: the names, profiles and validity every enrollment token this key creates must fit.</param>
public sealed record CreateApiKeyRequest(string? Name, string? Role, NamePolicyDocument? NamePolicy = null);

/// <summary>A new key; the secret is shown only here.</summary>
/// <param name="Id">Public identifier (for DELETE).</param>
/// <param name="Name">What the key is for.</param>
/// <param name="Role">Its role.</param>
/// <param name="Key">The secret to send as 'Authorization: Bearer'. Stored only as a SHA-256 hash.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="NamePolicy">Its name policy as stored (normalized), if it has one.</param>
public sealed record CreateApiKeyResponse(string Id, string Name, string Role, string Key, DateTimeOffset CreatedAt, NamePolicyDocument? NamePolicy);

/// <summary>Creates an API key.</summary>
public sealed record CreateApiKey(string? Name, string? Role, NamePolicyDocument? NamePolicy = null) : ICommand<CreateApiKeyResponse>;

public sealed partial class CreateApiKeyHandler(PkiDbContext db, AuditTrail audit, TimeProvider time, ILogger<CreateApiKeyHandler> logger)
    : ICommandHandler<CreateApiKey, CreateApiKeyResponse>
{
    public async ValueTask<CreateApiKeyResponse> Handle(CreateApiKey command, CancellationToken cancellationToken)
    {
        var key = Secrets.Generate(Secrets.ApiKeyPrefix);
        var policy = command.NamePolicy?.Normalized();
        var record = new ApiKeyRecord
        {
            Id = Secrets.NewId(),
            Name = command.Name!.Trim(),
            Role = command.Role!,
            SecretHash = Secrets.Hash(key),
            CreatedAt = time.GetUtcNow().UtcDateTime,
            NamePolicy = policy?.ToJson(),
        };
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        db.ApiKeys.Add(record);
        await audit.AppendAsync(new AuditEntry(audit.CurrentApiKeyActor, "apikey.create", record.Id, Success: true, $"'{record.Name}', role {record.Role}{(policy is null ? "" : ", name policy " + record.NamePolicy)}"), cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        LogCreated(logger, record.Id, record.Name, record.Role);
        return new CreateApiKeyResponse(record.Id, record.Name, record.Role, key, new DateTimeOffset(record.CreatedAt, TimeSpan.Zero), policy);
    }

    [LoggerMessage(EventId = 2101, EventName = "ApiKeyCreated", Level = LogLevel.Warning, Message = "Created API key {ApiKeyId} '{Name}' with role {Role}")]
    private static partial void LogCreated(ILogger logger, string apiKeyId, string name, string role);
}
