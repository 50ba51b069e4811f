namespace PkiService.Core.Revocation;

/// <summary>The three answers RFC 6960 2.2 allows about a certificate.</summary>
public enum RevocationState
{
    /// <summary>Issued by this CA and not revoked.</summary>
    Good,

    /// <summary>Revoked, with a time and reason.</summary>
    Revoked,

    /// <summary>This CA never issued a certificate with that serial.</summary>
    Unknown,
}

/// <summary>What the service knows about one (issuer, serial) pair.</summary>
public readonly record struct RevocationStatus
{
    private RevocationStatus(RevocationState state, DateTimeOffset? revokedAt, RevocationReason? reason)
    {
        State = state;
        RevokedAt = revokedAt;
        Reason = reason;
    }

    /// <summary>Good, revoked or unknown.</summary>
    public RevocationState State { get; }

    /// <summary>The revocation time when <see cref="State"/> is <see cref="RevocationState.Revoked"/>.</summary>
    public DateTimeOffset? RevokedAt { get; }

    /// <summary>The revocation reason when <see cref="State"/> is <see cref="RevocationState.Revoked"/>.</summary>
    public RevocationReason? Reason { get; }

    /// <summary>Issued and not revoked.</summary>
    public static RevocationStatus Good { get; } = new(RevocationState.Good, null, null);

    /// <summary>Never issued by this CA.</summary>
    public static RevocationStatus Unknown { get; } = new(RevocationState.Unknown, null, null);

    /// <summary>Revoked at <paramref name="revokedAt"/> for <paramref name="reason"/>.</summary>
    public static RevocationStatus Revoked(DateTimeOffset revokedAt, RevocationReason reason) =>
        new(RevocationState.Revoked, revokedAt, reason);
}
