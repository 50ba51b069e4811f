using FluentValidation;
using PkiService.Core.Issuance;
using PkiService.Core.Primitives;

namespace PkiService.Api.Features.Enrollment;

public sealed class CreateEnrollmentTokenValidator : AbstractValidator<CreateEnrollmentToken>
{
    /// <summary>A token lives at most a week: it is a bearer secret.</summary>
    public static readonly TimeSpan MaxTtl = TimeSpan.FromDays(7);

    public CreateEnrollmentTokenValidator()
    {
        // The name rules live in one place, NameSyntax: LDH/A-label DNS names, URIs by scheme, canonical IPs, and no
        // control or Unicode format characters anywhere.
        RuleFor(c => c.Body.CommonName)
            .Must(cn => NameSyntax.CheckCommonName(cn) is null)
            .WithMessage(c => NameSyntax.CheckCommonName(c.Body.CommonName))
            .OverridePropertyName("commonName");
        RuleFor(c => c.Body.Profile)
            .Must(p => p is null || CertificateProfile.All.ContainsKey(p))
            .WithMessage(c => $"'{c.Body.Profile}' is not a profile; use one of: {string.Join(", ", CertificateProfile.All.Keys)}.")
            .OverridePropertyName("profile");
        RuleFor(c => c.Body.Ttl)
            .Must(t => t is null || (IsoDuration.TryParse(t, out var ttl) && ttl <= MaxTtl))
            .WithMessage(c => $"'{c.Body.Ttl}' is not a usable ttl; give an ISO 8601 duration up to P7D, such as PT1H.")
            .OverridePropertyName("ttl");
        RuleFor(c => c.Body.MaxValidity)
            .Must((c, v) => v is null || (IsoDuration.TryParse(v, out var max) && max <= ProfileOf(c).MaxValidity))
            .WithMessage(c => $"'{c.Body.MaxValidity}' is not a usable maxValidity; give an ISO 8601 duration in days, hours or minutes up to the profile's maximum ({IsoDuration.Format(ProfileOf(c).MaxValidity)}), such as P30D.")
            .OverridePropertyName("maxValidity");
        RuleFor(c => c.Body.Sans)
            .Must(s => s is null || s.Length <= 50).WithMessage("At most 50 sans per token.")
            .OverridePropertyName("sans");
        RuleForEach(c => c.Body.Sans)
            .Must(s => s is not null && s.Length <= 255)
            .WithMessage("Each SAN is a non-empty string of at most 255 characters: a URI, IP address, e-mail address or DNS name.")
            .Must(s => s is null || SubjectAltName.TryParse(s, out _, out _))
            .WithMessage((_, s) => SubjectAltName.TryParse(s, out var parsed, out var error) ? parsed.Value : error)
            .OverridePropertyName("sans");
        RuleFor(c => c.Body.ContactEmail)
            .EmailAddress().When(c => c.Body.ContactEmail is not null)
            .WithMessage(c => $"'{c.Body.ContactEmail}' is not an e-mail address.")
            .OverridePropertyName("contactEmail");
    }

    private static CertificateProfile ProfileOf(CreateEnrollmentToken command) =>
        CertificateProfile.TryGet(command.Body.Profile ?? CertificateProfile.Client.Name, out var profile) ? profile : CertificateProfile.Client;
}
