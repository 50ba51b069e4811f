using FluentValidation;
using PkiService.Api.Issuance;

namespace PkiService.Api.Features.Renewal;

public sealed class RenewCertificateValidator : AbstractValidator<RenewCertificate>
{
    public RenewCertificateValidator()
    {
        RuleFor(c => c.Csr).IsPemCsr();
        RuleFor(c => c.Validity).IsValidity();
    }
}
