using FluentValidation;

namespace PkiService.Api.Features.Expiry;

public sealed class ListNotificationsValidator : AbstractValidator<ListNotifications>
{
    private static readonly string[] Statuses = ["pending", "sent", "failed", "passed"];

    public ListNotificationsValidator()
    {
        RuleFor(q => q.Status)
            .Must(s => s is null || Statuses.Contains(s))
            .WithMessage(q => $"'{q.Status}' is not a delivery status; use pending, sent, failed or passed.")
            .OverridePropertyName("status");
        RuleFor(q => q.Page).GreaterThanOrEqualTo(1).WithMessage("page starts at 1.").OverridePropertyName("page");
        RuleFor(q => q.PageSize).InclusiveBetween(1, 200).WithMessage("pageSize is between 1 and 200.").OverridePropertyName("pageSize");
    }
}
