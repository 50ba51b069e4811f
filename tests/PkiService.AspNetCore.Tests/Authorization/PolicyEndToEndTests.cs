using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using PkiService.AspNetCore.Tests.Support;

namespace PkiService.AspNetCore.Tests.Authorization;

/// <summary>A named policy from PkiClient:Authorization on a real endpoint.</summary>
public sealed class PolicyEndToEndTests : IAsyncLifetime
{
    private PkiServiceInstance _pki = null!;

    public async Task InitializeAsync() => _pki = await PkiServiceInstance.StartAsync();

    public async Task DisposeAsync() => await _pki.DisposeAsync();

    [Fact]
    public async Task Admin_SpiffeIdUnderThePrefix_200_OutsideIt_403CountedAsPolicy()
    {
        await using var api = await ProtectedApi.StartAsync(_pki, new Dictionary<string, string?>
        {
            // A scalar, as on the command line.
            ["PkiClient:Authorization:admins:SpiffePrefix"] = "spiffe://example.org/admin/",
        });
        var meters = api.Services.GetRequiredService<IMeterFactory>();
        var refusals = new List<(long Count, string Reason)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // Only this host's meter: other tests run their own hosts meanwhile.
            if (ReferenceEquals(instrument.Meter.Scope, meters) && instrument.Meter.Name == "PkiService.AspNetCore" && instrument.Name == "pki.client.refusals")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            lock (refusals)
            {
                refusals.Add((value, (string)tags.ToArray().Single(t => t.Key == "reason").Value!));
            }
        });
        listener.Start();
        using var admin = await _pki.EnrollAsync("root-user", ["spiffe://example.org/admin/alice"]);
        using var other = await _pki.EnrollAsync("worker", ["spiffe://example.org/worker/bob"]);
        using var adminClient = api.CreateClient(admin);
        using var otherClient = api.CreateClient(other);

        using var allowed = await adminClient.GetAsync("/admin");
        using var refused = await otherClient.GetAsync("/admin");
        using var whoami = await otherClient.GetAsync("/whoami");

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Empty(await refused.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.OK, whoami.StatusCode);
        Assert.Equal(["policy"], api.Logs.RefusalReasons);
        var refusal = Assert.Single(api.Logs.Entries, e => e.EventName == "PkiClientCertificateRefused");
        Assert.Equal("CN=worker", refusal.Fields["Subject"]);
        Assert.Equal(PkiService.AspNetCore.Identity.ClientCertificateInfo.CanonicalSerial(other.SerialNumberBytes.Span), refusal.Fields["SerialNumber"]);
        lock (refusals)
        {
            Assert.Equal([(1L, "policy")], refusals);
        }
    }
}
