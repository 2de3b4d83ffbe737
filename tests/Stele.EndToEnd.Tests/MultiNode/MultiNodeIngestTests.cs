using Stele.EndToEnd.Tests.Postgres;
using Xunit.Abstractions;

namespace Stele.EndToEnd.Tests.MultiNode;

/// <summary>Several <c>stele serve</c> processes on one PostgreSQL database ingesting into one ledger at once.</summary>
[Collection(MultiNodeCollection.Name)]
public sealed class MultiNodeIngestTests(ITestOutputHelper output)
{
    private const int ClientsPerNode = 12;

    [PostgresFact]
    public Task Two_nodes_ingesting_into_one_ledger_give_one_gap_free_verifiable_ledger() =>
        IngestAndCheckAsync(nodes: 2, writeKeyFirst: true, TimeSpan.FromSeconds(4));

    [PostgresFact]
    public Task Three_nodes_started_together_on_an_empty_database_share_one_key_and_one_ledger() =>
        IngestAndCheckAsync(nodes: 3, writeKeyFirst: false, TimeSpan.FromSeconds(6));

    private async Task IngestAndCheckAsync(int nodes, bool writeKeyFirst, TimeSpan duration)
    {
        await using var cluster = await Cluster.StartAsync(nodes, writeKeyFirst);

        // Nodes started at the same moment on an empty database: one bootstrap admin key, shown once.
        Assert.Equal(1, cluster.AdminKeysPrinted);

        var load = new IngestLoad(nodes);
        using var stop = new CancellationTokenSource();
        var clients = new List<Task<bool>>();
        for (var node = 0; node < nodes; node++)
        {
            for (var client = 0; client < ClientsPerNode; client++)
            {
                clients.Add(load.RunClientAsync(cluster.Node(node).Address, cluster.AdminKey, node, client, $"n{node}c{client}", stop.Token));
            }
        }

        await Task.Delay(duration);
        await stop.CancelAsync();
        var finished = await Task.WhenAll(clients);

        Assert.True(finished.All(f => f), "A client lost its connection to a node that was not killed.");
        Assert.True(load.Failures == 0, $"{load.Failures} requests failed, e.g. {string.Join(" | ", load.FailureSamples)}");
        for (var node = 0; node < nodes; node++)
        {
            // Each node answered throughout the same window; the bound is low enough for a loaded machine.
            Assert.True(load.AcknowledgedBy(node) > 50, $"Node {node} acknowledged only {load.AcknowledgedBy(node)} events: the nodes did not ingest concurrently.");
        }

        // Every node lists the same ledger, and it holds exactly the acknowledged events at their seqs.
        var stored = await cluster.ReadLedgerAsync(0);
        load.AssertLedgerHolds(stored, exact: true);
        for (var node = 1; node < nodes; node++)
        {
            Assert.Equal(stored, await cluster.ReadLedgerAsync(node));
        }

        // The nodes index behind ingestion, taking turns on each ledger's cursor: every event is in the indexes once.
        for (var node = 0; node < nodes; node++)
        {
            Assert.Equal(stored, await cluster.ReadIndexedAsync(node, "action=multinode.*", stored.Count));
        }

        var verified = await cluster.VerifyEverywhereAsync(stored.Count);
        var perNode = string.Join(", ", Enumerable.Range(0, nodes).Select(n => $"node {n}: {load.AcknowledgedBy(n)}"));
        output.WriteLine($"{nodes} nodes x {ClientsPerNode} clients for {duration.TotalSeconds:0} s: {load.Acknowledged.Count} events acknowledged ({perNode}; {load.Acknowledged.Count / duration.TotalSeconds:0} events/s); ledger size {stored.Count}, seq gap-free; {verified}");
    }
}
