using System.Diagnostics.Metrics;
using PkiService.Api.Infrastructure;
using PkiService.Core.Authorities;

namespace PkiService.Api.Features.Crl;

/// <summary>The CRL feature's gauges: size and entries of the published CRLs, by CA (nothing before the first build), and whether this node is the CRL builder.</summary>
/// <param name="services">The root provider: the publisher is resolved only when a scraper asks, so creating the meter loads no keys.</param>
public sealed class CrlGauges(IServiceProvider services) : IPkiGauges
{
    public void Register(Meter meter, PkiMetrics metrics)
    {
        meter.CreateObservableGauge("pki.crl.size", () => metrics.Observe<long>(() => Published() is { } set
                ? [PkiMetrics.Measure(set.Issuing.Crl.Der.LongLength, CaHierarchy.IssuingName), .. RootMeasure(set, c => c.Der.LongLength)]
                : []),
            unit: "By", description: "DER size of the published CRL, by CA");
        meter.CreateObservableGauge("pki.crl.entries", () => metrics.Observe<long>(() => Published() is { } set
                ? [PkiMetrics.Measure(set.Issuing.Crl.EntryCount, CaHierarchy.IssuingName), .. RootMeasure(set, c => c.EntryCount)]
                : []),
            description: "Revoked certificates listed in the published CRL, by CA");
        meter.CreateObservableGauge("pki.crl.builder", () => metrics.Observe<long>(() => [new Measurement<long>(IsBuilder() ? 1 : 0)]),
            description: "1 when this node builds and signs the CRLs (always on SQLite; on a shared database, while it holds the CRL builder lease), else 0");
    }

    /// <summary>The root's measurement, none while an external root's CRL has not been uploaded.</summary>
    private static Measurement<long>[] RootMeasure(CrlPublisher.CrlSet set, Func<Core.Revocation.SignedCrl, long> value) =>
        set.Root is { } root ? [PkiMetrics.Measure(value(root.Crl), CaHierarchy.RootName)] : [];

    private CrlPublisher.CrlSet? Published() => services.GetRequiredService<CrlPublisher>().Published;

    private bool IsBuilder() => !services.GetRequiredService<Persistence.IPkiDatabase>().IsShared || services.GetRequiredService<CrlBuilderLease>().IsHeld;
}
