using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using PkiService.Api.Features.Crl;
using PkiService.Api.Features.Ocsp;
using PkiService.Core.Authorities;
using PkiService.Persistence;

namespace PkiService.Api.Infrastructure;

/// <summary>
/// Ready when the database commits a write. A read is not enough: a full disk or a read-only file still answers
/// queries, yet every issuance and revocation would fail.
/// </summary>
public sealed class DatabaseHealthCheck(PkiDbContext db, IPkiDatabase database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            if (!await db.Database.CanConnectAsync(cancellationToken))
            {
                return HealthCheckResult.Unhealthy("database not reachable");
            }
            await database.ProbeWriteAsync(db, cancellationToken);
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

/// <summary>
/// Ready while the published CRLs are current: past nextUpdate a relying party must treat them as stale (RFC 5280
/// 5.1.2.5), so a load balancer should stop sending clients here until the refresh job has re-issued them.
/// </summary>
public sealed class CrlFreshnessHealthCheck(CrlPublisher publisher, TimeProvider time) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (publisher.Published is not { } set)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("no CRL published yet"));
        }
        var now = time.GetUtcNow();
        foreach (var (name, crl) in new[] { (CaHierarchy.IssuingName, set.Issuing), (CaHierarchy.RootName, set.Root) })
        {
            if (crl is null)
            {
                continue; // an external root's CRL not uploaded yet: RootCrlHealthCheck reports it
            }
            if (now >= crl.NextUpdate)
            {
                return Task.FromResult(HealthCheckResult.Unhealthy(
                    $"the {name} CRL {crl.Crl.CrlNumber} is past its nextUpdate {crl.NextUpdate:O}; the CRL refresh job has not re-issued it"));
            }
        }
        return Task.FromResult(HealthCheckResult.Healthy($"CRLs current until {set.Issuing.NextUpdate:O}"));
    }
}

/// <summary>Ready while both delegated OCSP responder certificates are within their validity (RFC 6960 4.2.2.2).</summary>
public sealed class OcspResponderHealthCheck(OcspResponderSet responders, TimeProvider time) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        foreach (var (name, responder) in new[] { (CaHierarchy.IssuingName, responders.IssuingResponder), (CaHierarchy.RootName, responders.RootResponder) })
        {
            if (responder is null)
            {
                continue; // an external root: no responder of its own here
            }
            if (now >= responder.NotAfter || now < responder.NotBefore)
            {
                return Task.FromResult(HealthCheckResult.Unhealthy(
                    $"the {name} OCSP responder certificate is not valid now (valid {responder.NotBefore:O} to {responder.NotAfter:O}); the renewal job has not replaced it"));
            }
        }
        return Task.FromResult(HealthCheckResult.Healthy("OCSP responder certificates valid"));
    }
}
