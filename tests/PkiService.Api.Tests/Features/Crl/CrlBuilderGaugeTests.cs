using PkiService.Api.Features.Crl;
using PkiService.Api.Tests.Infrastructure;
using PkiService.Api.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace PkiService.Api.Tests.Features.Crl;

/// <summary>The <c>pki_crl_builder</c> gauge; alone in the metrics collection, since exporters also see other hosts' meters in this process.</summary>
[Collection(MetricsCollection.Name)]
public sealed class CrlBuilderGaugeTests
{
    [Fact]
    public async Task Metrics_OnSqlite_NodeIsAlwaysTheBuilder()
    {
        using var factory = new PkiApiFactory();
        using var admin = factory.CreateAdminClient();

        Assert.Equal(1, PrometheusText.Value(await admin.GetStringAsync("/metrics"), "pki_crl_builder"));
    }

    [SkippableFact]
    public async Task Metrics_LeaseHolderFencedOut_BuilderGaugeGoesFromOneToZero()
    {
        using var factory = new PkiApiFactory(settings: CrlClusterTests.Settings, database: TestDatabase.Postgres);
        using var admin = factory.CreateAdminClient();
        Assert.Equal(1, PrometheusText.Value(await admin.GetStringAsync("/metrics"), "pki_crl_builder"));

        await CrlClusterTests.ExecuteAsync(factory,
            "UPDATE \"Leases\" SET \"Holder\" = 'another-node', \"Generation\" = \"Generation\" + 1, \"ExpiresAt\" = now() + interval '1 hour'");
        await factory.Services.GetRequiredService<CrlPublisher>().EnsurePublishedAfterAsync(CancellationToken.None);

        Assert.Equal(0, PrometheusText.Value(await admin.GetStringAsync("/metrics"), "pki_crl_builder"));
    }
}
