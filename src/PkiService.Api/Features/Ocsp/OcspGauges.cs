using System.Diagnostics.Metrics;
using PkiService.Api.Infrastructure;
using PkiService.Core.Authorities;

namespace PkiService.Api.Features.Ocsp;

/// <summary>The OCSP feature's gauges: days left on the delegated responder certificates, and the cache's use by table.</summary>
/// <param name="services">The root provider: responders and cache are resolved only when a scraper asks, so creating the meter loads no keys.</param>
/// <param name="time">The clock the days left are counted from.</param>
public sealed class OcspGauges(IServiceProvider services, TimeProvider time) : IPkiGauges
{
    public void Register(Meter meter, PkiMetrics metrics)
    {
        meter.CreateObservableGauge("pki.ocsp.responder.days_left", () => metrics.Observe<double>(() =>
            {
                var responders = services.GetRequiredService<OcspResponderSet>();
                var now = time.GetUtcNow();
                return responders.RootResponder is { } root
                    ?
                    [
                        PkiMetrics.DaysLeft(responders.IssuingResponder.NotAfter, now, CaHierarchy.IssuingName),
                        PkiMetrics.DaysLeft(root.NotAfter, now, CaHierarchy.RootName),
                    ]
                    : [PkiMetrics.DaysLeft(responders.IssuingResponder.NotAfter, now, CaHierarchy.IssuingName)];
            }),
            description: "Days until the delegated OCSP responder certificate expires, by CA (negative: expired)");
        meter.CreateObservableGauge("pki.ocsp.cache.size", () => ObserveCache(metrics, t => t.Bytes), unit: "By",
            description: "Estimated bytes held by the OCSP cache, by table (replies, requests, statuses); bounded by Ocsp:CacheMaxBytes");
        meter.CreateObservableGauge("pki.ocsp.cache.entries", () => ObserveCache(metrics, t => t.Count),
            description: "Rows in the OCSP cache, by table (replies, requests, statuses)");
        meter.CreateObservableCounter("pki.ocsp.cache.evictions", () => ObserveCache(metrics, t => t.Evictions),
            description: "Rows the OCSP cache dropped to stay within Ocsp:CacheMaxBytes, by table");
    }

    private IEnumerable<Measurement<long>> ObserveCache(PkiMetrics metrics, Func<OcspResponseCache.TableUsage, long> value) =>
        metrics.Observe<long>(() => [.. services.GetRequiredService<OcspResponseCache>().Usage()
            .Select(table => new Measurement<long>(value(table), new KeyValuePair<string, object?>("table", table.Table)))]);
}
