using PkiService.Api.Tests.Infrastructure;
using PkiService.Api.Tests.Support;

namespace PkiService.Api.Tests.Features.RevocationStream;

/// <summary>The stream's metrics, counted alone (exporters listen to meters by name, so other hosts running at once would count too).</summary>
[Collection(MetricsCollection.Name)]
public sealed class RevocationStreamMetricsTests
{
    [Fact]
    public async Task Metrics_CountOpenStreamsAndEventsSent()
    {
        using var factory = new PkiApiFactory();
        using var admin = factory.CreateAdminClient();
        using var client = factory.CreateClient();
        var serial = await RevocationStreamTests.EnrollAsync(factory, "metered");
        await using var stream = await EventStreamReader.OpenAsync(client);
        await stream.ReadThroughReadyAsync();
        await RevocationStreamTests.RevokeAsync(admin, serial);
        Assert.Equal(serial, (await stream.NextAsync())?.SerialNumber);

        var metrics = await client.GetStringAsync("/metrics");

        Assert.Equal(1, PrometheusText.Value(metrics, "pki_revocation_stream_clients"));
        Assert.Equal(2, PrometheusText.Value(metrics, "pki_revocation_stream_events_total")); // ready + revoked
    }
}
