using FluentValidation;
using FluentValidation.Results;
using PkiService.Api.Authentication;
using PkiService.Api.Issuance;
using PkiService.Core.Issuance;
using PkiService.Core.Primitives;

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
        RuleFor(c => c.NamePolicy)
            .Null().When(c => c.Role == ApiRoles.Auditor)
            .WithMessage("namePolicy limits the enrollment tokens a key creates; an auditor key creates none, leave it out.")
            .OverridePropertyName("namePolicy");
        RuleFor(c => c.NamePolicy!).Custom(CheckPolicy).When(c => c.NamePolicy is not null);
    }

    /// <summary>Each entry is checked by the rule that will match it (<see cref="NamePolicy"/>); every bad one is named.</summary>
    private static void CheckPolicy(NamePolicyDocument policy, ValidationContext<CreateApiKey> context)
    {
        Each(context, "namePolicy.dnsSuffixes", policy.DnsSuffixes, s => NamePolicy.TryDnsSuffix(s, out var e) is null ? e : null);
        Each(context, "namePolicy.uriPrefixes", policy.UriPrefixes, s => NamePolicy.TryUriPrefix(s, out var e) is null ? e : null);
        Each(context, "namePolicy.ipNetworks", policy.IpNetworks, s => NamePolicy.TryIpNetwork(s, out var e) is null ? e : null);
        Each(context, "namePolicy.profiles", policy.Profiles, p => CertificateProfile.TryGet(p, out _) ? null : NamePolicyDocument.UnknownProfile(p));
        if (policy.CommonNamePattern is not null && CommonNameGlob.TryParse(policy.CommonNamePattern, out var globError) is null)
        {
            context.AddFailure(new ValidationFailure("namePolicy.commonNamePattern", globError));
        }
        if (policy.MaxValidity is not null
            && !(IsoDuration.TryParse(policy.MaxValidity, out var max) && max <= CertificateProfile.All.Values.Max(p => p.MaxValidity)))
        {
            context.AddFailure(new ValidationFailure("namePolicy.maxValidity",
                $"'{policy.MaxValidity}' is not a usable maxValidity; give an ISO 8601 duration in days, hours or minutes up to the profiles' maximum, such as P30D."));
        }
    }

    private static void Each(ValidationContext<CreateApiKey> context, string field, string[]? entries, Func<string, string?> check)
    {
        if (entries is null)
        {
            return;
        }
        if (entries.Length > NamePolicyDocument.MaxEntries)
        {
            context.AddFailure(new ValidationFailure(field, $"At most {NamePolicyDocument.MaxEntries} entries in {field}."));
            return;
        }
        foreach (var entry in entries)
        {
            if (check(entry) is { } error)
            {
                context.AddFailure(new ValidationFailure(field, error));
            }
        }
    }
}
