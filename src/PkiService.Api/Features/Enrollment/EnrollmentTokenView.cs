using PkiService.Core.Primitives;
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
/// <param name="MaxValidity">The longest validity a certificate enrolled with it may get (ISO 8601); null for the profile's maximum.</param>
public sealed record EnrollmentTokenView(
    string Id, string CommonName, IReadOnlyList<string> Sans, string Profile, string? ContactEmail, string Status,
    DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? UsedAt, DateTimeOffset? RevokedAt, string? MaxValidity)
{
    public static readonly string[] Statuses = [.. Enum.GetNames<EnrollmentTokenState>().Select(n => n.ToLowerInvariant())];

    public static EnrollmentTokenView From(EnrollmentTokenRecord token, DateTime now) => new(
        token.Id, token.CommonName, token.SubjectAltNames, token.Profile, token.ContactEmail,
        token.StateAt(now).ToString().ToLowerInvariant(),
        Utc(token.CreatedAt), Utc(token.ExpiresAt),
        token.UsedAt is { } used ? Utc(used) : null,
        token.RevokedAt is { } revoked ? Utc(revoked) : null,
        Format(token.MaxValidity));

    /// <summary>A validity cap as the API shows it (ISO 8601), or null.</summary>
    public static string? Format(TimeSpan? maxValidity) => maxValidity is { } value ? IsoDuration.Format(value) : null;

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
