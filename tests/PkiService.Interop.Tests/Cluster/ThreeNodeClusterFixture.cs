using PkiService.Tests.Shared;

namespace PkiService.Interop.Tests.Cluster;

/// <summary>
/// Three nodes on one fresh database of the shared throwaway PostgreSQL cluster, with expiry scanning every second
/// (thresholds PT10M and PT9M50S, a webhook receiver) so that the expiry test can run on the same nodes. Started by
/// the first test that asks (inside a test, so that a missing PostgreSQL skips or fails that test rather than the
/// fixture), stopped after the class.
/// </summary>
public sealed class ThreeNodeClusterFixture : IAsyncLifetime
{
    public const string WebhookSecret = "cluster-webhook-secret-0123456789abcdef";

    /// <summary>Nearest first: a ten-minute certificate is inside PT10M at once and inside PT9M50S ten seconds later.</summary>
    public static readonly string[] Thresholds = ["PT9M50S", "PT10M"];

    public static readonly TimeSpan ScanInterval = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim _starting = new(1, 1);
    private ServiceCluster? _cluster;

    public WebhookReceiver Receiver { get; } = new();

    /// <summary>The running cluster, started on the first call.</summary>
    public async Task<ServiceCluster> ClusterAsync()
    {
        await _starting.WaitAsync();
        try
        {
            return _cluster ??= await ServiceCluster.StartAsync(PostgresCluster.Shared, 3, new Dictionary<string, string>
            {
                ["Expiry:WarnBefore:0"] = Thresholds[0],
                ["Expiry:WarnBefore:1"] = Thresholds[1],
                ["Expiry:ScanInterval"] = "PT1S",
                ["Notifications:Webhook:Url"] = Receiver.Url,
                ["Notifications:Webhook:Secret"] = WebhookSecret,
            });
        }
        finally
        {
            _starting.Release();
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
        Receiver.Dispose();
        _starting.Dispose();
    }
}
