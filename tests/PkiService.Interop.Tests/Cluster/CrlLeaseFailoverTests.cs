using System.Diagnostics;
using System.Text.RegularExpressions;
using PkiService.Interop.Tests.Infrastructure;
using PkiService.Tests.Shared;
using Xunit.Abstractions;

namespace PkiService.Interop.Tests.Cluster;

/// <summary>
/// Issue 11: one CRL builder at a time, with fail-over. Three nodes with <c>Crl:LeaseDuration=PT5S</c>; the node
/// holding the CRL builder lease is killed with SIGKILL (no shutdown, the lease is not released), a certificate is
/// revoked on a survivor, and the survivors then serve a CRL listing it with a higher CRL number, within the lease
/// time. The killed node, started again on its data directory, serves the next CRL with a higher number still.
/// </summary>
[Collection(ServiceCollection.Name)] // not the shared service: three nodes of their own; runs alone
public sealed partial class CrlLeaseFailoverTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(5);

    /// <summary>Beyond the lease: the survivor's next try after the lease expired, the build, and a loaded machine.</summary>
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(10);

    private readonly TempDirectory _work = new("pki-interop-lease-");
    private ServiceCluster? _cluster;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
        _work.Dispose();
    }

    [SkippableFact]
    public async Task CrlLeaseHolder_KilledWithSigkill_SurvivorPublishesNextCrlWithHigherNumberWithinLeaseTime()
    {
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        _cluster = await ServiceCluster.StartAsync(PostgresCluster.Shared, 3, new Dictionary<string, string>
        {
            ["Crl:LeaseDuration"] = $"PT{LeaseDuration.TotalSeconds}S",
        });
        var nodes = _cluster.Nodes;
        await ServiceCertificates.WriteCaFilesAsync(nodes[0].Api, _work.Path);

        // A first revocation, so that some node has built and published a CRL as the lease holder.
        var first = await ServiceCertificates.IssueClientAsync(nodes[0].Api, openssl, "before-kill");
        await nodes[0].Api.RevokeAsync(first.SerialNumber);
        var before = await WaitUntilListedAsync(nodes, first.SerialNumber, Slack);
        Assert.True(before is not null, $"no node lists {first.SerialNumber}\n{_cluster.Logs()}");

        var holder = await FindLeaseHolderAsync();
        var survivors = nodes.Where((_, i) => i != holder).ToArray();
        var second = await ServiceCertificates.IssueClientAsync(survivors[0].Api, openssl, "after-kill");
        output.WriteLine($"CRL lease holder: node {ServiceCluster.Name(holder)} (pid {nodes[holder].ProcessId}); CRL number before the kill {before.Number}");

        nodes[holder].Kill();
        var sinceKill = Stopwatch.StartNew();
        await survivors[^1].Api.RevokeAsync(second.SerialNumber);
        var revokeReturned = sinceKill.Elapsed;
        var after = await WaitUntilListedAsync(survivors, second.SerialNumber, LeaseDuration + Slack, sinceKill);
        var failover = sinceKill.Elapsed;

        Assert.True(after is not null, $"no survivor's CRL lists {second.SerialNumber} {LeaseDuration + Slack} after the lease holder was killed\n{_cluster.Logs()}");
        Timing.Report(output, "CRL lease fail-over (kill -9 of the holder -> survivors serve the next CRL)", failover,
            $"lease {LeaseDuration.TotalSeconds} s; the revoke call on a survivor returned after {revokeReturned.TotalMilliseconds:F0} ms; CRL number {before.Number} -> {after.Number}");
        Assert.True(after.Number > before.Number, $"CRL number {after.Number} after the fail-over is not above {before.Number}");
        Assert.True(failover <= LeaseDuration + Slack, $"fail-over took {failover}");
        var newHolder = await FindLeaseHolderAsync();
        Assert.NotEqual(holder, newHolder);

        // The killed node comes back on its data directory: it loads the shared state, and the numbers go on rising.
        await nodes[holder].RestartAsync();
        var third = await ServiceCertificates.IssueClientAsync(nodes[holder].Api, openssl, "after-restart");
        await nodes[holder].Api.RevokeAsync(third.SerialNumber);
        var restarted = await WaitUntilListedAsync(nodes, third.SerialNumber, Slack);
        Assert.True(restarted is not null, $"not every node lists {third.SerialNumber} after the restart\n{_cluster.Logs()}");
        Assert.True(restarted.Number > after.Number, $"CRL number {restarted.Number} after the restart is not above {after.Number}");
        output.WriteLine($"after node {ServiceCluster.Name(holder)} restarted: CRL number {restarted.Number} on all three nodes");
    }

    /// <summary>
    /// Polls until every node in <paramref name="nodes"/> serves a complete and a delta CRL listing the serial, with one
    /// ETag for all; returns that complete CRL, or null after <paramref name="within"/>.
    /// </summary>
    private static async Task<ServedCrl?> WaitUntilListedAsync(IReadOnlyList<ServiceProcess> nodes, string serial, TimeSpan within, Stopwatch? clock = null)
    {
        clock ??= Stopwatch.StartNew();
        while (clock.Elapsed < within)
        {
            try
            {
                var complete = await Task.WhenAll(nodes.Select(node => ServiceCluster.GetCrlAsync(node.Api.Http, "pki/crl", serial)));
                var delta = await Task.WhenAll(nodes.Select(node => ServiceCluster.GetCrlAsync(node.Api.Http, "pki/delta.crl", serial)));
                if (complete.All(c => c.ListsSerial) && delta.All(d => d.ListsSerial) && complete.Select(c => c.ETag).Distinct().Count() == 1)
                {
                    return complete[0];
                }
            }
            catch (HttpRequestException)
            {
                // a node answering 503 while it has no CRL yet
            }
            await Task.Delay(20);
        }
        return null;
    }

    /// <summary>
    /// Which node holds the CRL builder lease: the <c>Leases</c> row (named for the CRL) whose holder names a node,
    /// by its process id, its port or a holder id the node printed; else a lease gauge at <c>/metrics</c> that is 1 on
    /// exactly one node.
    /// </summary>
    private async Task<int> FindLeaseHolderAsync()
    {
        var nodes = _cluster!.Nodes;
        var rows = await _cluster.QueryAsync("""SELECT "Name" || ' ' || "Holder" || ' until ' || "ExpiresAt"::text FROM "Leases" ORDER BY "Name" """);
        // The CRL lease (or the only lease there is), the one that runs longest first: a released or lapsed row of an
        // earlier holder may still be there.
        var holders = (await _cluster.QueryAsync(rows.Count == 1
                ? """SELECT "Holder" FROM "Leases" """
                : """SELECT "Holder" FROM "Leases" WHERE "Name" ILIKE '%crl%' ORDER BY "ExpiresAt" DESC"""))
            .OfType<string>()
            .ToList();
        foreach (var holder in holders)
        {
            var matches = Enumerable.Range(0, nodes.Count).Where(i => Names(nodes[i], holder)).ToList();
            if (matches.Count == 1)
            {
                return matches[0];
            }
        }

        // No Leases row names a node: a gauge at /metrics that is 1 on exactly one running node.
        var gauges = await Task.WhenAll(nodes.Select(async node =>
        {
            if (node.ProcessId is null)
            {
                return [];
            }
            try
            {
                return LeaseGauge().Matches(await node.Api.GetTextAsync("metrics")).Select(m => double.Parse(m.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            }
            catch (Exception exception) when (exception is HttpRequestException or InvalidOperationException or TaskCanceledException)
            {
                return [];
            }
        }));
        var holding = Enumerable.Range(0, nodes.Count).Where(i => gauges[i].Any(v => v >= 1)).ToList();
        if (holding.Count == 1)
        {
            return holding[0];
        }
        Assert.Fail($"no single CRL lease holder found. Leases rows: [{string.Join("; ", rows)}]; lease gauges per node: [{string.Join("; ", gauges.Select(g => string.Join(",", g)))}]; "
            + $"node pids {string.Join(", ", nodes.Select(n => n.ProcessId))}, ports {string.Join(", ", nodes.Select(n => n.BaseAddress.Port))}\n{_cluster.Logs()}");
        return -1;
    }

    /// <summary>Whether a lease holder id names <paramref name="node"/>: its pid or port as a whole number in it, or the node printed it.</summary>
    private static bool Names(ServiceProcess node, string holder) =>
        (node.ProcessId is { } pid && Regex.IsMatch(holder, $@"(?<![0-9]){pid}(?![0-9])"))
        || Regex.IsMatch(holder, $@"(?<![0-9]){node.BaseAddress.Port}(?![0-9])")
        || (holder.Length >= 8 && node.Output.Contains(holder, StringComparison.Ordinal));

    /// <summary>A gauge such as <c>pki_crl_builder 1</c> or <c>pki_crl_lease_held 1</c>.</summary>
    [GeneratedRegex(@"^pki_[a-z_]*(crl[a-z_]*(lease|builder)|lease[a-z_]*crl)[a-z_]*(\{[^}]*\})? (?<value>[0-9.eE+-]+)", RegexOptions.Multiline)]
    private static partial Regex LeaseGauge();
}
