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
}
