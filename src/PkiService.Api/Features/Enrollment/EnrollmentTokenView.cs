using PkiService.Persistence.Entities;

namespace PkiService.Api.Features.Enrollment;

/// <summary>An enrollment token as the admin API shows it: never its secret (only its hash is stored).</summary>
/// <param name="Id">Public identifier.</param>
/// <param name="CommonName">The CN it allows.</param>
/// <param name="Sans">The SANs it allows.</param>
/// <param name="Profile">The profile it issues under.</param>
/// <param name="ContactEmail">Who is warned before expiry.</param>
/// <param name="Status">unused, used, expired or revoked.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="ExpiresAt">When it stops being accepted.</param>
/// <param name="UsedAt">When a certificate was issued with it.</param>
/// <param name="RevokedAt">When an admin revoked it.</param>
public sealed record EnrollmentTokenView(
    string Id, string CommonName, IReadOnlyList<string> Sans, string Profile, string? ContactEmail, string Status,
    DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? UsedAt, DateTimeOffset? RevokedAt)
{
    public static readonly string[] Statuses = ["unused", "used", "expired", "revoked"];

    public static EnrollmentTokenView From(EnrollmentTokenRecord token, DateTime now) => new(
        token.Id, token.CommonName, token.SubjectAltNames, token.Profile, token.ContactEmail,
        token.RevokedAt is not null ? "revoked" : token.UsedAt is not null ? "used" : token.ExpiresAt <= now ? "expired" : "unused",
        Utc(token.CreatedAt), Utc(token.ExpiresAt),
        token.UsedAt is { } used ? Utc(used) : null,
        token.RevokedAt is { } revoked ? Utc(revoked) : null);

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
