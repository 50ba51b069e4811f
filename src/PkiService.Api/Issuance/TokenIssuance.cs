using PkiService.Core.Issuance;

namespace PkiService.Api.Issuance;

/// <summary>Issuance for whoever holds a one-time enrollment token, whatever the front end (REST, EST).</summary>
public sealed partial class TokenIssuance
{
    /// <summary>Checks the token, reads and checks the CSR, signs, and returns only once the certificate is committed and the token consumed.</summary>
    public Task<IssuedCertificate> IssueAsync(TokenIssuanceRequest request, CancellationToken cancellationToken) =>
        throw new NotImplementedException("skeleton: filled in by the lead");
}
