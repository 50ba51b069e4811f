using System.Security.Cryptography;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Features.Certificates;

/// <summary>A certificate as the admin API shows it.</summary>
/// <param name="SerialNumber">Uppercase hexadecimal serial.</param>
/// <param name="Subject">Subject distinguished name.</param>
/// <param name="Sans">Subject alternative names.</param>
/// <param name="Profile">Profile it was issued under.</param>
/// <param name="NotBefore">Start of validity.</param>
/// <param name="NotAfter">End of validity.</param>
/// <param name="Status">active, revoked, expired or superseded (replaced by a renewal).</param>
/// <param name="RevokedAt">When it was revoked, if it was.</param>
/// <param name="RevocationReason">RFC 5280 reason name, if revoked.</param>
/// <param name="Certificate">The certificate, PEM.</param>
public sealed record CertificateView(
    string SerialNumber,
    string Subject,
    IReadOnlyList<string> Sans,
    string Profile,
    DateTimeOffset NotBefore,
    DateTimeOffset NotAfter,
    string Status,
    DateTimeOffset? RevokedAt,
    string? RevocationReason,
    string Certificate)
{
    public static CertificateView From(CertificateRecord record, DateTime now) => new(
        record.SerialNumber,
        record.Subject,
        record.SubjectAltNames,
        record.Profile,
        AsUtc(record.NotBefore),
        AsUtc(record.NotAfter),
        StatusOf(record, now),
        record.RevokedAt is { } revokedAt ? AsUtc(revokedAt) : null,
        record.RevocationReason,
        PemEncoding.WriteString("CERTIFICATE", record.Der) + "\n");

    /// <summary>The status a caller sees: a revoked certificate stays "revoked"; an active one past NotAfter is "expired".</summary>
    public static string StatusOf(CertificateRecord record, DateTime now) => record.Status switch
    {
        CertificateStatus.Revoked => CertificateStatusFilter.Revoked,
        CertificateStatus.Superseded => CertificateStatusFilter.Superseded,
        _ when record.NotAfter <= now => CertificateStatusFilter.Expired,
        _ => CertificateStatusFilter.Active,
    };

    private static DateTimeOffset AsUtc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}

/// <summary>The status names used in the API and as list filters.</summary>
public static class CertificateStatusFilter
{
    public const string Active = "active";
    public const string Revoked = "revoked";
    public const string Expired = "expired";
    public const string Superseded = "superseded";

    public static readonly string[] All = [Active, Revoked, Expired, Superseded];
}
