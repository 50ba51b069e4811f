using FluentValidation;
using PkiService.Core.Audit;

namespace PkiService.Api.Features.Audit;

public sealed class VerifyAuditCheckpointValidator : AbstractValidator<VerifyAuditCheckpoint>
{
    /// <summary>Base64 of <see cref="AuditCheckpoints.MaxSignedDataBytes"/> bytes.</summary>
    private const int MaxSignedDataChars = (AuditCheckpoints.MaxSignedDataBytes + 2) / 3 * 4;

    /// <summary>Base64 of 1 KiB: more than an RSA-4096 (512 bytes) or ECDSA P-521 (139 bytes) signature.</summary>
    private const int MaxSignatureChars = 1368;

    public VerifyAuditCheckpointValidator()
    {
        RuleFor(q => q.SignedData)
            .Must(v => IsBase64(v, MaxSignedDataChars))
            .WithMessage("signedData is required: the base64 signedData of a checkpoint from GET /api/v1/audit/checkpoint, unchanged.")
            .OverridePropertyName("signedData");
        RuleFor(q => q.Signature)
            .Must(v => IsBase64(v, MaxSignatureChars))
            .WithMessage("signature is required: the base64 signature of a checkpoint from GET /api/v1/audit/checkpoint, unchanged.")
            .OverridePropertyName("signature");
    }

    private static bool IsBase64(string? value, int maxChars) =>
        !string.IsNullOrEmpty(value) && value.Length <= maxChars && Convert.TryFromBase64String(value, new byte[value.Length], out var written) && written > 0;
}
