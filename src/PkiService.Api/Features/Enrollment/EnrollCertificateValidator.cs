using FluentValidation;
using PkiService.Api.Issuance;

namespace PkiService.Api.Features.Enrollment;

public sealed class EnrollCertificateValidator : AbstractValidator<EnrollCertificate>
{
    public EnrollCertificateValidator()
    {
        RuleFor(c => c.Csr).IsPemCsr();
        RuleFor(c => c.Validity).IsValidity();
    }
}
