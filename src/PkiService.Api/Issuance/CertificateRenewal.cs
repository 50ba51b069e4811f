using PkiService.Core.Issuance;

namespace PkiService.Api.Issuance;

/// <summary>Renewal for whoever presents an active certificate of ours as the TLS client certificate, whatever the front end (REST, EST).</summary>
public sealed partial class CertificateRenewal
{
    /// <summary>Checks the client certificate, reads and checks the CSR, signs, and returns only once the new certificate is committed and the old one superseded.</summary>
    public Task<IssuedCertificate> RenewAsync(RenewalRequest request, CancellationToken cancellationToken) =>
        throw new NotImplementedException("skeleton: filled in by the lead");
}
