using PkiService.Core.Primitives;
using PkiService.Core.Revocation;

namespace PkiService.Core.Ocsp;

/// <summary>
/// Where the OCSP responder learns a certificate's status. The core owns this contract; the host implements it
/// over its certificate store.
/// </summary>
public interface ICertificateStatusSource
{
    /// <summary>
    /// The status of the certificate <paramref name="serialNumber"/> issued by the CA whose certificate has the
    /// SHA-256 fingerprint <paramref name="issuerFingerprint"/> (uppercase hex, as <c>CertificateAuthority.Fingerprint</c>).
    /// Return <see cref="RevocationStatus.Unknown"/> for a serial that CA never issued (RFC 6960 2.2). For the root,
    /// the certificates it issued are the issuing CAs.
    /// </summary>
    ValueTask<RevocationStatus> GetStatusAsync(string issuerFingerprint, SerialNumber serialNumber, CancellationToken cancellationToken);
}
