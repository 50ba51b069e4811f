using Microsoft.Extensions.Diagnostics.HealthChecks;
using PkiService.Core.Authorities;
using PkiService.Persistence;

namespace PkiService.Api.Infrastructure;

/// <summary>Ready when the database answers a query.</summary>
public sealed class DatabaseHealthCheck(PkiDbContext db) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            return await db.Database.CanConnectAsync(cancellationToken)
                ? HealthCheckResult.Healthy("database reachable")
                : HealthCheckResult.Unhealthy("database not reachable");
        }
        catch (Exception exception)
        {
            return HealthCheckResult.Unhealthy("database not reachable", exception);
        }
    }
}

/// <summary>Ready when both CA keys are loaded and the issuing key can sign.</summary>
public sealed class CaKeysHealthCheck(CaHierarchy hierarchy) : IHealthCheck
{
    private static readonly byte[] Probe = "pki-readiness-probe"u8.ToArray();

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            new DotNetSignatureFactory(hierarchy.Issuing.PrivateKey).Sign(Probe);
            return Task.FromResult(HealthCheckResult.Healthy("CA keys loaded"));
        }
        catch (Exception exception)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("CA keys not usable", exception));
        }
    }
}
