using Microsoft.Extensions.Diagnostics.HealthChecks;
using PkiService.AspNetCore.Identity;

namespace PkiService.AspNetCore.Revocation;

/// <summary><see cref="PkiRevocationMode.Push"/> and <see cref="PkiRevocationMode.Crl"/>: answers from the local <see cref="RevokedSet"/>.</summary>
internal sealed class LocalSetRevocationChecker(RevokedSet set, PkiRevocationMode mode, TimeProvider time) : IRevocationChecker
{
    public RevocationStatus Check(ClientCertificateInfo certificate) => set.Status(certificate.SerialNumber);

    public ValueTask<RevocationStatus> CheckAsync(ClientCertificateInfo certificate, CancellationToken cancellationToken) =>
        ValueTask.FromResult(set.Status(certificate.SerialNumber));

    public HealthCheckResult Health(bool failClosed)
    {
        var consequence = failClosed ? "every client certificate is refused (PkiClient:FailClosed)" : "client certificates are accepted unchecked (PkiClient:FailClosed=false)";
        var data = new Dictionary<string, object>
        {
            ["mode"] = mode.ToString(),
            ["revokedSerials"] = set.Count,
            ["streamConnected"] = set.StreamLive,
        };
        if (set.Complete is { } crl)
        {
            data["crlNumber"] = crl.Number;
            data["crlNextUpdate"] = crl.NextUpdate.ToString("O");
        }
        HealthCheckResult Unknown(string why) => failClosed
            ? HealthCheckResult.Unhealthy($"{why}: {consequence}", data: data)
            : HealthCheckResult.Degraded($"{why}: {consequence}", data: data);
        if (set.Overflow)
        {
            return Unknown($"more revoked serials than PkiClient:MaxRevokedSerials ({set.Count})");
        }
        if (set.Complete is not { } complete)
        {
            return Unknown("no CRL loaded yet");
        }
        var fresh = time.GetUtcNow() < complete.NextUpdate;
        if (mode == PkiRevocationMode.Push)
        {
            if (set.StreamLive)
            {
                return HealthCheckResult.Healthy($"revocation stream connected; CRL {complete.Number}", data);
            }
            return fresh
                ? HealthCheckResult.Degraded($"revocation stream down, polling CRLs; CRL {complete.Number} valid until {complete.NextUpdate:O}", data: data)
                : Unknown($"revocation stream down and CRL {complete.Number} past its nextUpdate at {complete.NextUpdate:O}");
        }
        return fresh
            ? HealthCheckResult.Healthy($"CRL {complete.Number} valid until {complete.NextUpdate:O}", data)
            : Unknown($"CRL {complete.Number} past its nextUpdate at {complete.NextUpdate:O}");
    }
}
