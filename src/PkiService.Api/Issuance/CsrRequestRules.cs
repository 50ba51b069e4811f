using FluentValidation;
using PkiService.Core.Primitives;

namespace PkiService.Api.Issuance;

/// <summary>The shape rules of a body that carries a CSR and a validity (enrollment and renewal).</summary>
public static class CsrRequestRules
{
    /// <summary>Largest body that carries a CSR (enrollment, renewal): a 4096-bit RSA CSR in PEM is under 4 KiB.</summary>
    public const long MaxBodyBytes = 64 * 1024;

    public static IRuleBuilderOptions<T, string?> IsPemCsr<T>(this IRuleBuilder<T, string?> rule) => rule
        .NotEmpty().WithMessage("csr is required: a PEM PKCS#10 request from 'openssl req -new'.")
        .OverridePropertyName("csr");

    public static IRuleBuilderOptions<T, string?> IsValidity<T>(this IRuleBuilder<T, string?> rule) => rule
        .Must(v => v is null || IsoDuration.TryParse(v, out _))
        .WithMessage((_, v) => $"'{v}' is not a validity; give an ISO 8601 duration in days, hours or minutes, such as P90D.")
        .OverridePropertyName("validity");
}
