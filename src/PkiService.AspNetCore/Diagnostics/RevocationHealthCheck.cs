using Microsoft.Extensions.Diagnostics.HealthChecks;
using PkiService.AspNetCore.Revocation;
using PkiService.AspNetCore.Service;
using PkiService.AspNetCore.Trust;

namespace PkiService.AspNetCore.Diagnostics;

/// <summary>
/// Health check <c>pki-revocation</c>: Unhealthy with the reason when fail-closed refuses every client (e.g. "revocation
/// stream down and CRL 12 past its nextUpdate at ..."), Degraded while on the CRL fallback, Healthy otherwise.
/// </summary>
internal sealed class RevocationHealthCheck(TrustAnchorStore anchors, IRevocationChecker revocation, PkiClientSettings settings) : IHealthCheck
{
    public const string Name = "pki-revocation";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(anchors.Current is null
            ? HealthCheckResult.Unhealthy("the trust anchors are not loaded: every client certificate is refused")
            : revocation.Health(settings.FailClosed));
}
