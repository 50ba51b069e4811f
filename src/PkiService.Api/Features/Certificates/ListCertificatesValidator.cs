using FluentValidation;
using PkiService.Core.Primitives;

namespace PkiService.Api.Features.Certificates;

public sealed class ListCertificatesValidator : AbstractValidator<ListCertificates>
{
    public const int MaxPageSize = 200;

    public ListCertificatesValidator()
    {
        RuleFor(q => q.Status)
            .Must(s => s is null || CertificateStatusFilter.All.Contains(s))
            .WithMessage(q => $"'{q.Status}' is not a status; use active, revoked, expired or superseded.")
            .OverridePropertyName("status");
        RuleFor(q => q.ExpiringWithin)
            .Must(e => e is null || IsoDuration.TryParse(e, out _))
            .WithMessage(q => $"'{q.ExpiringWithin}' is not a duration; use ISO 8601 such as P7D.")
            .OverridePropertyName("expiringWithin");
        RuleFor(q => q.Page).GreaterThanOrEqualTo(1).WithMessage("page starts at 1.").OverridePropertyName("page");
        RuleFor(q => q.PageSize).InclusiveBetween(1, MaxPageSize)
            .WithMessage($"pageSize is between 1 and {MaxPageSize}.").OverridePropertyName("pageSize");
    }
}
