using FluentValidation;

namespace PkiService.Api.Features.Audit;

public sealed class ListAuditEventsValidator : AbstractValidator<ListAuditEvents>
{
    public ListAuditEventsValidator()
    {
        RuleFor(q => q.Page).GreaterThanOrEqualTo(1).WithMessage("page starts at 1.").OverridePropertyName("page");
        RuleFor(q => q.PageSize).InclusiveBetween(1, 500).WithMessage("pageSize is between 1 and 500.").OverridePropertyName("pageSize");
        RuleFor(q => q.Action).MaximumLength(64).WithMessage("action is at most 64 characters, e.g. certificate.issue.").OverridePropertyName("action");
    }
}
