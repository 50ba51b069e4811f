using PkiService.Core.Primitives;

namespace PkiService.Core.Revocation;

/// <summary>One entry of a CRL (RFC 5280 5.1.2.6): which certificate, since when, and why.</summary>
/// <param name="SerialNumber">Serial of the revoked certificate.</param>
/// <param name="RevocationDate">When the CA processed the revocation (RFC 5280 5.1.2.6 revocationDate).</param>
/// <param name="Reason">The CRLReason (RFC 5280 5.3.1).</param>
/// <param name="InvalidityDate">When the key is known or suspected to have been compromised, if given (RFC 5280 5.3.2).</param>
public sealed record RevokedCertificate(
    SerialNumber SerialNumber,
    DateTimeOffset RevocationDate,
    RevocationReason Reason,
    DateTimeOffset? InvalidityDate = null);
