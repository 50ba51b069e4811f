using PkiService.Api.Issuance;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Features.ApiKeys;

/// <summary>An API key as listed: never the secret.</summary>
/// <param name="Id">Public identifier.</param>
/// <param name="Name">What the key is for.</param>
/// <param name="Role">admin, enroller or auditor.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="RevokedAt">When it was deleted, if it was.</param>
/// <param name="NamePolicy">The names, profiles and validity its enrollment tokens must fit; null for none.</param>
public sealed record ApiKeyView(string Id, string Name, string Role, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt, NamePolicyDocument? NamePolicy)
{
    public static ApiKeyView From(ApiKeyRecord record) => new(
        record.Id, record.Name, record.Role,
        new DateTimeOffset(DateTime.SpecifyKind(record.CreatedAt, DateTimeKind.Utc)),
        record.RevokedAt is { } revoked ? new DateTimeOffset(DateTime.SpecifyKind(revoked, DateTimeKind.Utc)) : null,
        NamePolicyDocument.FromJson(record.NamePolicy));
}
