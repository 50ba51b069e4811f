using System.Linq.Expressions;

namespace PkiService.Persistence.Entities;

/// <summary>Where a token is in its life; only an <see cref="Unused"/> token may issue a certificate.</summary>
public enum EnrollmentTokenState
{
    Unused,
    Used,
    Expired,
    Revoked,
}

/// <summary>A one-time enrollment token. Only the SHA-256 of the secret is stored.</summary>
public sealed class EnrollmentTokenRecord
{
    /// <summary>Public identifier (not secret), used in logs and to refer to the token.</summary>
    public required string Id { get; set; }

    /// <summary>SHA-256 of the token secret.</summary>
    public required byte[] SecretHash { get; set; }

    public required string CommonName { get; set; }

    public List<string> SubjectAltNames { get; set; } = [];

    public required string Profile { get; set; }

    public string? ContactEmail { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime ExpiresAt { get; set; }

    /// <summary>When the token was consumed by a successful enrollment; null while unused.</summary>
    public DateTime? UsedAt { get; set; }

    /// <summary>When an admin revoked the token before use; a revoked token is refused like a used one.</summary>
    public DateTime? RevokedAt { get; set; }

    /// <summary>The longest validity a certificate enrolled (or renewed) under this token may get; null means the profile's maximum.</summary>
    public TimeSpan? MaxValidity { get; set; }

    /// <summary>The admin API key that created the token.</summary>
    public string? CreatedByApiKeyId { get; set; }

    /// <summary>
    /// The one rule of a token's state (revoked before used before expired); <see cref="InState"/> is the same rule for
    /// database queries, next to it so the two cannot drift.
    /// </summary>
    public EnrollmentTokenState StateAt(DateTime nowUtc) =>
        RevokedAt is not null ? EnrollmentTokenState.Revoked
        : UsedAt is not null ? EnrollmentTokenState.Used
        : ExpiresAt <= nowUtc ? EnrollmentTokenState.Expired
        : EnrollmentTokenState.Unused;

    /// <summary><see cref="StateAt"/> as a query filter: the tokens in <paramref name="state"/> at <paramref name="nowUtc"/>.</summary>
    public static Expression<Func<EnrollmentTokenRecord, bool>> InState(EnrollmentTokenState state, DateTime nowUtc) => state switch
    {
        EnrollmentTokenState.Revoked => t => t.RevokedAt != null,
        EnrollmentTokenState.Used => t => t.RevokedAt == null && t.UsedAt != null,
        EnrollmentTokenState.Expired => t => t.RevokedAt == null && t.UsedAt == null && t.ExpiresAt <= nowUtc,
        EnrollmentTokenState.Unused => t => t.RevokedAt == null && t.UsedAt == null && t.ExpiresAt > nowUtc,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "not a token state"),
    };
}
