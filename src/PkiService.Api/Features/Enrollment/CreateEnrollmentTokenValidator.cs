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
        RuleFor(c => c.Body.CommonName)
            .NotEmpty().WithMessage("commonName is required, for example \"client-1\".")
            .MaximumLength(64).WithMessage("commonName is at most 64 characters (RFC 5280 ub-common-name).")
            .Must(cn => cn is null || !cn.Any(char.IsControl)).WithMessage("commonName may not contain control characters.")
            .OverridePropertyName("commonName");
        RuleFor(c => c.Body.Profile)
            .Must(p => p is null || CertificateProfile.All.ContainsKey(p))
            .WithMessage(c => $"'{c.Body.Profile}' is not a profile; use one of: {string.Join(", ", CertificateProfile.All.Keys)}.")
            .OverridePropertyName("profile");
        RuleFor(c => c.Body.Ttl)
            .Must(t => t is null || (IsoDuration.TryParse(t, out var ttl) && ttl <= MaxTtl))
            .WithMessage(c => $"'{c.Body.Ttl}' is not a usable ttl; give an ISO 8601 duration up to P7D, such as PT1H.")
            .OverridePropertyName("ttl");
        RuleFor(c => c.Body.Sans)
            .Must(s => s is null || s.Length <= 50).WithMessage("At most 50 sans per token.")
            .OverridePropertyName("sans");
        RuleForEach(c => c.Body.Sans)
            .Must(s => !string.IsNullOrWhiteSpace(s) && s.Length <= 255 && !s.Any(char.IsControl))
            .WithMessage("Each SAN is a non-empty string of at most 255 characters: a URI, IP address, e-mail address or DNS name.")
            .OverridePropertyName("sans");
        RuleFor(c => c.Body.ContactEmail)
            .EmailAddress().When(c => c.Body.ContactEmail is not null)
            .WithMessage(c => $"'{c.Body.ContactEmail}' is not an e-mail address.")
            .OverridePropertyName("contactEmail");
    }
}
