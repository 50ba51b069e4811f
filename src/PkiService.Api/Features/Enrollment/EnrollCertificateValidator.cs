using FluentValidation;
using PkiService.Core.Primitives;

namespace PkiService.Api.Features.Enrollment;

public sealed class EnrollCertificateValidator : AbstractValidator<EnrollCertificate>
{
    public EnrollCertificateValidator()
    {
        RuleFor(c => c.Csr).IsPemCsr();
        RuleFor(c => c.Validity).IsValidity();
    }
}

/// <summary>The shape rules of a body that carries a CSR and a validity (enrollment and renewal).</summary>
public static class CsrRequestRules
{
    public static IRuleBuilderOptions<T, string?> IsPemCsr<T>(this IRuleBuilder<T, string?> rule) => rule
        .NotEmpty().WithMessage("csr is required: a PEM PKCS#10 request from 'openssl req -new'.")
        .OverridePropertyName("csr");

    public static IRuleBuilderOptions<T, string?> IsValidity<T>(this IRuleBuilder<T, string?> rule) => rule
        .Must(v => v is null || IsoDuration.TryParse(v, out _))
        .WithMessage((_, v) => $"'{v}' is not a validity; give an ISO 8601 duration in days, hours or minutes, such as P90D.")
        .OverridePropertyName("validity");
}
