using FluentValidation;
using PkiService.Core.Primitives;

namespace PkiService.Api.Features.Enrollment;

public sealed class EnrollCertificateValidator : AbstractValidator<EnrollCertificate>
{
    public EnrollCertificateValidator()
    {
        RuleFor(c => c.Csr)
            .NotEmpty().WithMessage("csr is required: a PEM PKCS#10 request from 'openssl req -new'.")
            .OverridePropertyName("csr");
        RuleFor(c => c.Validity)
            .Must(v => v is null || IsoDuration.TryParse(v, out _))
            .WithMessage(c => $"'{c.Validity}' is not a validity; give an ISO 8601 duration in days, hours or minutes, such as P90D.")
            .OverridePropertyName("validity");
    }
}
