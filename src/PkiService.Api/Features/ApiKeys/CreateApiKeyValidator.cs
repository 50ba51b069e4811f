using FluentValidation;
using PkiService.Api.Infrastructure;
using PkiService.Api.Authentication;

namespace PkiService.Api.Features.ApiKeys;

public sealed class CreateApiKeyValidator : AbstractValidator<CreateApiKey>
{
    public CreateApiKeyValidator()
    {
        RuleFor(c => c.Name)
            .NotEmpty().MaximumLength(100)
            .WithMessage("name is required, at most 100 characters, e.g. \"ci-enroller\".")
            .OverridePropertyName("name");
        RuleFor(c => c.Role)
            .Must(r => r is not null && ApiRoles.All.Contains(r))
            .WithMessage(c => $"'{c.Role}' is not a role; use admin, enroller or auditor.")
            .OverridePropertyName("role");
    }
}
