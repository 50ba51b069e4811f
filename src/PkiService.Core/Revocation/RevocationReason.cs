using PkiService.Core.Errors;

namespace PkiService.Core.Revocation;

/// <summary>
/// Why a certificate was revoked: the RFC 5280 5.3.1 CRLReason values the API accepts. The numeric value of
/// each member is its CRLReason code, so it can be written into CRL entries and OCSP responses as is.
/// </summary>
/// <remarks>
/// Code 7 is unused, and <c>removeFromCRL</c> (8) and <c>aACompromise</c> (10) are not offered: revocations here are
/// final (a delta CRL never has to take an entry back) and we issue no attribute certificates.
/// </remarks>
public enum RevocationReason
{
    Unspecified = 0,
    KeyCompromise = 1,
    CaCompromise = 2,
    AffiliationChanged = 3,
    Superseded = 4,
    CessationOfOperation = 5,
    CertificateHold = 6,
    PrivilegeWithdrawn = 9,
}

/// <summary>Converts <see cref="RevocationReason"/> to and from its RFC 5280 name and CRLReason code.</summary>
public static class RevocationReasons
{
    private static readonly (RevocationReason Reason, string Name)[] _names =
    [
        (RevocationReason.Unspecified, "unspecified"),
        (RevocationReason.KeyCompromise, "keyCompromise"),
        (RevocationReason.CaCompromise, "caCompromise"),
        (RevocationReason.AffiliationChanged, "affiliationChanged"),
        (RevocationReason.Superseded, "superseded"),
        (RevocationReason.CessationOfOperation, "cessationOfOperation"),
        (RevocationReason.CertificateHold, "certificateHold"),
        (RevocationReason.PrivilegeWithdrawn, "privilegeWithdrawn"),
    ];

    /// <summary>Every reason the API accepts, in CRLReason code order.</summary>
    public static IReadOnlyList<RevocationReason> All { get; } = Array.AsReadOnly(_names.Select(n => n.Reason).ToArray());

    /// <summary>The API names of every reason, in CRLReason code order (<c>unspecified</c>, <c>keyCompromise</c>, ...).</summary>
    public static IReadOnlyList<string> AllowedNames { get; } = Array.AsReadOnly(_names.Select(n => n.Name).ToArray());

    /// <summary>The RFC 5280 name used by the API, for example <c>keyCompromise</c>.</summary>
    public static string ToName(this RevocationReason reason)
    {
        foreach (var (candidate, name) in _names)
        {
            if (candidate == reason)
            {
                return name;
            }
        }
        throw new ArgumentOutOfRangeException(nameof(reason), reason, "Not a revocation reason the service uses.");
    }

    /// <summary>The RFC 5280 5.3.1 CRLReason code.</summary>
    public static int ToCrlReasonCode(this RevocationReason reason) => IsDefined(reason)
        ? (int)reason
        : throw new ArgumentOutOfRangeException(nameof(reason), reason, "Not a revocation reason the service uses.");

    /// <summary>The reason for an RFC 5280 5.3.1 CRLReason code; false for codes the service does not use (7, 8, 10, unknown).</summary>
    public static bool TryFromCrlReasonCode(int code, out RevocationReason reason)
    {
        reason = (RevocationReason)code;
        return IsDefined(reason);
    }

    /// <summary>
    /// Reads an RFC 5280 reason name such as <c>keyCompromise</c>. Letter case is ignored; numbers are not
    /// accepted (a client that sends <c>"1"</c> probably meant something else).
    /// </summary>
    public static bool TryParse(string? text, out RevocationReason reason)
    {
        var trimmed = text?.Trim();
        foreach (var (candidate, name) in _names)
        {
            if (string.Equals(trimmed, name, StringComparison.OrdinalIgnoreCase))
            {
                reason = candidate;
                return true;
            }
        }
        reason = default;
        return false;
    }

    /// <summary>Parses like <see cref="TryParse"/>; otherwise throws an <see cref="InvalidRequestException"/> listing the allowed names.</summary>
    public static RevocationReason Parse(string? text) =>
        TryParse(text, out var reason)
            ? reason
            : throw new InvalidRequestException(
                $"'{text}' is not a revocation reason; use one of the RFC 5280 names: {string.Join(", ", AllowedNames)}.");

    private static bool IsDefined(RevocationReason reason)
    {
        foreach (var (candidate, _) in _names)
        {
            if (candidate == reason)
            {
                return true;
            }
        }
        return false;
    }
}
