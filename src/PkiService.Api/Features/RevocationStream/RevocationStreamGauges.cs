using System.Diagnostics.Metrics;
using PkiService.Api.Infrastructure;

namespace PkiService.Api.Features.RevocationStream;

/// <summary>The revocation stream's instruments: streams open now, and events sent.</summary>
/// <param name="services">The root provider: the counts are resolved only when a scraper asks.</param>
public sealed class RevocationStreamGauges(IServiceProvider services) : IPkiGauges
{
    public void Register(Meter meter, PkiMetrics metrics)
    {
        meter.CreateObservableGauge("pki.revocation_stream.clients", () => metrics.Observe<long>(() => [new Measurement<long>(Clients().Connected)]),
            description: "Revocation streams (GET /pki/revocations/stream) open on this node; at most RevocationStream:MaxClients");
        meter.CreateObservableCounter("pki.revocation_stream.events", () => metrics.Observe<long>(() => [new Measurement<long>(Clients().EventsSent)]),
            description: "Events (revoked, ready) sent on this node's revocation streams");
    }

    private RevocationStreamClients Clients() => services.GetRequiredService<RevocationStreamClients>();
}
