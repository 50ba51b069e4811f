namespace PkiService.Persistence.Entities;

/// <summary>
/// The last CRL number used by one CA. RFC 5280 5.2.3: the cRLNumber is monotonically increasing for a
/// given CRL scope, so it is persisted and only ever incremented inside a write transaction.
/// </summary>
public sealed class CrlNumberRecord
{
    /// <summary>SHA-256 of the CA certificate that signs the CRLs.</summary>
    public required string IssuerFingerprint { get; set; }

    public long LastNumber { get; set; }

    public DateTime UpdatedAt { get; set; }
}
