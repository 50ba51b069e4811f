using FluentValidation;
using PkiService.Core.Revocation;

namespace PkiService.Api.Features.Revocation;

public sealed class RevokeCertificateValidator : AbstractValidator<RevokeCertificate>
{
    public RevokeCertificateValidator(TimeProvider time)
    {
        RuleFor(c => c.Reason)
            .Must(r => r is null || RevocationReasons.TryParse(r, out _))
            .WithMessage(c => $"'{c.Reason}' is not a revocation reason; use one of: {string.Join(", ", RevocationReasons.AllowedNames)}.")
            .OverridePropertyName("reason");
        RuleFor(c => c.InvalidityDate)
            .Must(d => d is null || d <= time.GetUtcNow().AddMinutes(5))
            .WithMessage("invalidityDate is when the key was (suspected) compromised; it cannot be in the future.")
            .OverridePropertyName("invalidityDate");
    }
}
