using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using PkiService.Api.Features.Crl;
using PkiService.Core.Authorities;

namespace PkiService.Api.Features.RootCrl;

/// <summary>
/// With an external root: degraded (still ready: an admin uploads through the same load balancer, which would route to
/// no node if this made them all unready) while no root CRL has been uploaded yet, and within
/// <see cref="CrlOptions.RefreshBeforeDuration"/> of the uploaded one's nextUpdate, so monitoring tells the admin to
/// upload one; not ready once it is past its nextUpdate (RFC 5280 5.1.2.5), as for the CRLs the service signs itself.
/// Healthy always when the service signs its own root CRL.
/// </summary>
public sealed class RootCrlHealthCheck(CaHierarchy hierarchy, CrlPublisher publisher, IOptions<CrlOptions> options, TimeProvider time) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!hierarchy.IsRootExternal)
        {
            return Task.FromResult(HealthCheckResult.Healthy("the root CRL is signed here"));
        }
        if (publisher.Published?.Root is not { } root)
        {
            return Task.FromResult(HealthCheckResult.Degraded("no root CRL uploaded: the root is external; upload its CRL with PUT /api/v1/root-crl"));
        }
        var now = time.GetUtcNow();
        if (now >= root.NextUpdate)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy(
                $"the uploaded root CRL {root.Crl.CrlNumber} is past its nextUpdate {root.NextUpdate:O}; upload a fresh one with PUT /api/v1/root-crl"));
        }
        if (now >= root.NextUpdate - options.Value.RefreshBeforeDuration)
        {
            return Task.FromResult(HealthCheckResult.Degraded(
                $"the uploaded root CRL {root.Crl.CrlNumber} expires at {root.NextUpdate:O}; upload the next one with PUT /api/v1/root-crl"));
        }
        return Task.FromResult(HealthCheckResult.Healthy($"root CRL {root.Crl.CrlNumber} current until {root.NextUpdate:O}"));
    }
}
