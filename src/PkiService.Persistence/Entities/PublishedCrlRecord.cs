namespace PkiService.Persistence.Entities;

/// <summary>Which CRL of a CA a <see cref="PublishedCrlRecord"/> holds.</summary>
public enum PublishedCrlKind
{
    /// <summary>The complete CRL (RFC 5280 5).</summary>
    Complete = 0,

    /// <summary>The delta CRL over a base complete CRL (RFC 5280 5.2.4).</summary>
    Delta = 1,
}

/// <summary>
/// The CRL a CA publishes now, as signed by the node that holds the CRL builder lease, so that every node of a cluster
/// serves the same bytes (same ETag). One row per (CA, kind), replaced by each newer CRL: bounded by the number of CAs.
/// </summary>
public sealed class PublishedCrlRecord
{
    /// <summary>SHA-256 of the CA certificate that signed the CRL.</summary>
    public required string IssuerFingerprint { get; set; }

    public PublishedCrlKind Kind { get; set; }

    /// <summary>The CRL's cRLNumber (RFC 5280 5.2.3).</summary>
    public long Number { get; set; }

    /// <summary>For a delta CRL, the number of its base complete CRL (RFC 5280 5.2.4 deltaCRLIndicator); otherwise null.</summary>
    public long? BaseNumber { get; set; }

    public DateTime ThisUpdate { get; set; }

    public DateTime NextUpdate { get; set; }

    /// <summary>DER of the signed CRL.</summary>
    public required byte[] Der { get; set; }
}
