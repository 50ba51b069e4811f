using Mediator;
using Microsoft.Extensions.Options;
using PkiService.Core.Authorities;
using PkiService.Core.Issuance;
using PkiService.Core.Primitives;
using PkiService.Api.Issuance;

namespace PkiService.Api.Features.Renewal;

/// <summary>Body of POST /api/v1/renew.</summary>
/// <param name="Csr">PEM PKCS#10 request with the same CN and SANs as the certificate presented; a new key is expected.</param>
/// <param name="Validity">
/// Optional ISO 8601 duration such as P90D; without it the new certificate gets the lifetime of the one it replaces.
/// Capped by the profile's maximum and by the enrollment token's validity cap.
/// </param>
public sealed record RenewRequest(string? Csr, string? Validity);

/// <summary>Renews the certificate presented as the TLS client certificate (DER, null when none was sent).</summary>
public sealed record RenewCertificate(byte[]? ClientCertificate, string? Csr, string? Validity) : ICommand<EnrollmentResponse>;

/// <summary>The REST front end of <see cref="CertificateRenewal"/>: a PEM CSR in JSON in, the certificate and chain in PEM out.</summary>
public sealed class RenewCertificateHandler(CertificateRenewal renewal, CaHierarchy hierarchy, IOptions<RenewalKeyOptions> options)
    : ICommandHandler<RenewCertificate, EnrollmentResponse>
{
    public async ValueTask<EnrollmentResponse> Handle(RenewCertificate command, CancellationToken cancellationToken)
    {
        TimeSpan? validity = command.Validity is not null && IsoDuration.TryParse(command.Validity, out var v) ? v : null;
        var issued = await renewal.RenewAsync(
            new RenewalRequest(command.ClientCertificate, () => CertificationRequest.FromPem(command.Csr!), validity, IssuanceProtocol.Rest),
            cancellationToken);
        return EnrollmentResponse.For(issued, hierarchy, options.Value);
    }
}
