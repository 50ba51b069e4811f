using FluentValidation;

namespace PkiService.Api.Features.Enrollment;

public sealed class ListEnrollmentTokensValidator : AbstractValidator<ListEnrollmentTokens>
{
    public ListEnrollmentTokensValidator()
    {
        RuleFor(q => q.Status)
            .Must(s => s is null || EnrollmentTokenView.Statuses.Contains(s))
            .WithMessage(q => $"'{q.Status}' is not a token status; use unused, used, expired or revoked.")
            .OverridePropertyName("status");
        RuleFor(q => q.Page).GreaterThanOrEqualTo(1).WithMessage("page starts at 1.").OverridePropertyName("page");
        RuleFor(q => q.PageSize).InclusiveBetween(1, 200).WithMessage("pageSize is between 1 and 200.").OverridePropertyName("pageSize");
    }
}
