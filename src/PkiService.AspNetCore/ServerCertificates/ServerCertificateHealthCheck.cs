using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace PkiService.AspNetCore.ServerCertificates;

/// <summary>
/// <c>pki-server-certificate</c>: unhealthy when the served certificate has expired (clients refuse the API), degraded
/// once its renewal is overdue (renewals are failing; the log says why).
/// </summary>
internal sealed class ServerCertificateHealthCheck(ServerCertificateSource source, TimeProvider time) : IHealthCheck
{
    public const string Name = "pki-server-certificate";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var result = source.Current switch
        {
            null => HealthCheckResult.Healthy("no enrolled server certificate (PkiClient:EnrollmentToken not set)"),
            { } c when now >= c.NotAfter => HealthCheckResult.Unhealthy(
                $"server certificate {c.SerialNumber} expired at {c.NotAfter:O} and was not renewed; restart with a new PkiClient:EnrollmentToken"),
            // A minute of slack: the renewal runs at RenewAt and takes a moment.
            { } c when now >= c.RenewAt + TimeSpan.FromMinutes(1) => HealthCheckResult.Degraded(
                $"server certificate {c.SerialNumber} was due for renewal at {c.RenewAt:O} and expires at {c.NotAfter:O}; renewals are failing (see ServerCertificateRenewalFailed in the log)"),
            { } c => HealthCheckResult.Healthy($"server certificate {c.SerialNumber} valid until {c.NotAfter:O}, renewal due at {c.RenewAt:O}"),
        };
        return Task.FromResult(result);
    }
}
