using System.Diagnostics.Metrics;
using PkiService.AspNetCore.Refusals;

namespace PkiService.AspNetCore.Diagnostics;

/// <summary>
/// The package's meter, <c>PkiService.AspNetCore</c>. Counter <c>pki.client.refusals</c> (Prometheus:
/// <c>pki_client_refusals_total</c>) by <c>reason</c>: untrusted, expired, revoked, status-unknown, not-client-auth, policy.
/// </summary>
internal sealed class PkiClientMetrics
{
    public const string MeterName = "PkiService.AspNetCore";

    private readonly Counter<long> _refusals;

    public PkiClientMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _refusals = meter.CreateCounter<long>("pki.client.refusals", unit: "{refusal}",
            description: "Client certificates refused at the handshake, on a request or by a policy, by reason");
    }

    public void CountRefusal(RefusalReason reason) =>
        _refusals.Add(1, new KeyValuePair<string, object?>("reason", reason.Name()));
}
