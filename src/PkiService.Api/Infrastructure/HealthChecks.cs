using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using PkiService.Core.Authorities;
using PkiService.Persistence;

namespace PkiService.Api.Infrastructure;

/// <summary>
/// Ready when the database commits a write. A read is not enough: a full disk or a read-only file still answers
/// queries, yet every issuance and revocation would fail.
/// </summary>
public sealed class DatabaseHealthCheck(PkiDbContext db) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            if (!await db.Database.CanConnectAsync(cancellationToken))
            {
                return HealthCheckResult.Unhealthy("database not reachable");
            }
            // Rewriting the header's user_version (unused by EF Core) with its own value commits one page: it fails
            // exactly when a real write would (SQLITE_FULL, SQLITE_READONLY, I/O errors) and changes nothing.
            var version = await db.Database.SqlQueryRaw<long>("SELECT user_version AS \"Value\" FROM pragma_user_version").SingleAsync(cancellationToken);
            var rewrite = "PRAGMA user_version = " + version.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await db.Database.ExecuteSqlRawAsync(rewrite, cancellationToken);
            return HealthCheckResult.Healthy("database writable");
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
