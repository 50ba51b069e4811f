namespace PkiService.Persistence.Entities;

/// <summary>An admin API key. Only the SHA-256 of the secret is stored.</summary>
public sealed class ApiKeyRecord
{
    public required string Id { get; set; }

    public required string Name { get; set; }

    public required byte[] SecretHash { get; set; }

    public required string Role { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime? RevokedAt { get; set; }

    /// <summary>
    /// The name policy every enrollment token this key creates must fit (allowed names, profiles, maximum validity),
    /// as JSON; null means no restriction beyond the key's role.
    /// </summary>
    public string? NamePolicy { get; set; }
}
