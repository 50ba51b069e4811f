using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.ApiSide;

/// <summary>
/// PkiService and the sample API as two real processes, for the tests of <see cref="SampleApiCollection"/>. The
/// sample's server certificate is enrolled for one minute, so it renews itself over mTLS every 40 s while they run.
/// </summary>
public sealed class SampleApiFixture : IAsyncLifetime
{
    /// <summary>The validity the sample asks for its own certificate here (renewed when two thirds have passed).</summary>
    public const string ServerCertificateValidity = "PT1M";

    public ServiceProcess Service { get; } = new();

    public SampleApiProcess Sample { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Service.InitializeAsync();
        Sample = await SampleApiProcess.StartAsync(Service, new Dictionary<string, string>
        {
            ["PkiClient:ServerCertificateValidity"] = ServerCertificateValidity,
        });
    }

    public async Task DisposeAsync()
    {
        Sample?.Dispose();
        await Service.DisposeAsync();
    }
}

/// <summary>The tests that share one PkiService and one sample API; they run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class SampleApiCollection : ICollectionFixture<SampleApiFixture>
{
    public const string Name = "PkiService and the sample API";
}
