namespace PkiService.AspNetCore.Refusals;

/// <summary>Why a client certificate was refused; the names are the <c>Reason</c> of the log event and the metric's tag.</summary>
internal enum RefusalReason
{
    /// <summary>Not issued by PkiService's issuing CA under the pinned root (another CA, a forged chain, a bad signature).</summary>
    Untrusted,

    /// <summary>Outside its validity period (or its CA's) at the time of the check.</summary>
    Expired,

    /// <summary>Listed as revoked (CRL, stream or OCSP).</summary>
    Revoked,

    /// <summary>Its revocation status cannot be known and <c>PkiClient:FailClosed</c> is true.</summary>
    StatusUnknown,

    /// <summary>Its extended key usage does not include clientAuth.</summary>
    NotClientAuth,

    /// <summary>Authenticated, but no identity of it is allowed by the endpoint's policy.</summary>
    Policy,
}

internal static class RefusalReasonNames
{
    public static string Name(this RefusalReason reason) => reason switch
    {
        RefusalReason.Untrusted => "untrusted",
        RefusalReason.Expired => "expired",
        RefusalReason.Revoked => "revoked",
        RefusalReason.StatusUnknown => "status-unknown",
        RefusalReason.NotClientAuth => "not-client-auth",
        RefusalReason.Policy => "policy",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };
}
