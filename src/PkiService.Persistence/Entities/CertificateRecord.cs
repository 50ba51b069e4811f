namespace PkiService.Persistence.Entities;

/// <summary>Lifecycle states stored for a certificate. "Expired" is not stored: it follows from NotAfter.</summary>
public enum CertificateStatus
{
    Active = 0,
    Revoked = 1,

    /// <summary>Replaced by a renewal: not revoked (OCSP still says good), but no longer warned about or renewable.</summary>
    Superseded = 2,
}

/// <summary>One issued certificate. Written in the same transaction that consumes the enrollment token.</summary>
public sealed class CertificateRecord
{
    public long Id { get; set; }

    /// <summary>Canonical uppercase hex serial; unique.</summary>
    public required string SerialNumber { get; set; }

    /// <summary>SHA-256 of the issuing CA certificate, so serials are keyed by (serial, issuer) as RFC 5280 requires.</summary>
    public required string IssuerFingerprint { get; set; }

    public required string Subject { get; set; }

    public required string CommonName { get; set; }

    public List<string> SubjectAltNames { get; set; } = [];

    public required string Profile { get; set; }

    public DateTime NotBefore { get; set; }

    public DateTime NotAfter { get; set; }

    public DateTime IssuedAt { get; set; }

    public CertificateStatus Status { get; set; }

    public DateTime? RevokedAt { get; set; }

    /// <summary>RFC 5280 5.3.1 reason name, when revoked.</summary>
    public string? RevocationReason { get; set; }

    /// <summary>RFC 5280 5.3.2: when the key is known or suspected to have been compromised, if the revoker said.</summary>
    public DateTime? InvalidityDate { get; set; }

    public required byte[] Der { get; set; }

    /// <summary>The enrollment token that authorized this certificate.</summary>
    public string? EnrollmentTokenId { get; set; }

    public string? ContactEmail { get; set; }

    /// <summary>When a renewal replaced this certificate, the serial of its successor.</summary>
    public string? SupersededBy { get; set; }
}
