using Mediator;
using Microsoft.Extensions.Options;
using PkiService.Core.Authorities;
using PkiService.Core.Issuance;
using PkiService.Core.Primitives;
using PkiService.Api.Issuance;

namespace PkiService.Api.Features.Enrollment;

/// <summary>Body of POST /api/v1/enroll.</summary>
/// <param name="Csr">PEM PKCS#10 certification request.</param>
/// <param name="Validity">Optional ISO 8601 duration such as P90D; capped by the profile's maximum and the token's maxValidity.</param>
public sealed record EnrollRequest(string? Csr, string? Validity);

/// <summary>Enrolls a CSR with a one-time token.</summary>
public sealed record EnrollCertificate(string? Token, string? Csr, string? Validity) : ICommand<EnrollmentResponse>;

/// <summary>The REST front end of <see cref="TokenIssuance"/>: a PEM CSR in JSON in, the certificate and chain in PEM out.</summary>
public sealed class EnrollCertificateHandler(TokenIssuance issuance, CaHierarchy hierarchy, IOptions<RenewalKeyOptions> options)
    : ICommandHandler<EnrollCertificate, EnrollmentResponse>
{
    public async ValueTask<EnrollmentResponse> Handle(EnrollCertificate command, CancellationToken cancellationToken)
    {
        TimeSpan? validity = command.Validity is not null && IsoDuration.TryParse(command.Validity, out var v) ? v : null;
        var issued = await issuance.IssueAsync(
            new TokenIssuanceRequest(command.Token, () => CertificationRequest.FromPem(command.Csr!), validity, IssuanceProtocol.Rest),
            cancellationToken);
        return EnrollmentResponse.For(issued, hierarchy, options.Value);
    }
}
