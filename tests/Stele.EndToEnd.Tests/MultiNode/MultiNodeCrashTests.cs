using Stele.EndToEnd.Tests.Postgres;
using Xunit.Abstractions;

namespace Stele.EndToEnd.Tests.MultiNode;

/// <summary>One node is SIGKILLed mid-ingest, round after round, while another keeps ingesting into the same ledger.</summary>
[Collection(MultiNodeCollection.Name)]
public sealed class MultiNodeCrashTests(ITestOutputHelper output)
{
    private const int Rounds = 5;
    private const int ClientsPerNode = 10;
    private const int Survivor = 0;
    private const int Victim = 1;

    [PostgresFact]
    public async Task Killing_one_node_mid_ingest_loses_nothing_acknowledged_by_either_node()
    {
        await using var cluster = await Cluster.StartAsync(2, writeKeyFirst: true);
        var load = new IngestLoad(2);
        var random = new Random(20261123);
        var victimClientsCut = 0;

        for (var round = 0; round < Rounds; round++)
        {
            if (round > 0)
            {
                await cluster.StartNodeAsync(Victim);
            }

            using var stop = new CancellationTokenSource();
            var survivorClients = Enumerable.Range(0, ClientsPerNode)
                .Select(c => load.RunClientAsync(cluster.Node(Survivor).Address, cluster.AdminKey, Survivor, c, $"r{round}s{c}", stop.Token)).ToList();
            var victimClients = Enumerable.Range(0, ClientsPerNode)
                .Select(c => load.RunClientAsync(cluster.Node(Victim).Address, cluster.AdminKey, Victim, c, $"r{round}v{c}", stop.Token)).ToList();

            // Kill once the restarted node is really ingesting (a cold process on a busy machine
            // needs a while for its first answers), at a random moment after that.
            var before = load.AcknowledgedBy(Victim);
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (load.AcknowledgedBy(Victim) < before + 20 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            await Task.Delay(random.Next(100, 800));
            cluster.Kill(Victim);

            // The survivor keeps ingesting alone for a while: the killed node may have died holding
            // the ledger's lock mid-transaction, which PostgreSQL must roll back and release.
            await Task.Delay(500);
            await stop.CancelAsync();
            victimClientsCut += (await Task.WhenAll(victimClients)).Count(finished => !finished);
            Assert.True((await Task.WhenAll(survivorClients)).All(finished => finished), "A client of the surviving node lost its connection.");
            Assert.True(load.Failures == 0, $"{load.Failures} requests failed, e.g. {string.Join(" | ", load.FailureSamples)}");
            output.WriteLine($"round {round}: {load.Acknowledged.Count} acknowledged so far (survivor {load.AcknowledgedBy(Survivor)}, killed node {load.AcknowledgedBy(Victim)})");
        }

        Assert.True(victimClientsCut > 0, "No request was in flight when the node was killed: the test killed nothing mid-ingest.");
        Assert.True(load.AcknowledgedBy(Victim) > Rounds * 10, $"The killed node acknowledged only {load.AcknowledgedBy(Victim)} events.");

        // Bring the killed node back: it must open the ledger others extended and agree on everything.
        await cluster.StartNodeAsync(Victim);
        var stored = await cluster.ReadLedgerAsync(Victim);
        load.AssertLedgerHolds(stored, exact: false);
        Assert.Equal(stored, await cluster.ReadLedgerAsync(Survivor));
        var verified = await cluster.VerifyEverywhereAsync(stored.Count);
        output.WriteLine($"{Rounds} kills: {load.Acknowledged.Count} acknowledged, {stored.Count} stored ({stored.Count - load.Acknowledged.Count} committed but their answers cut by a kill), none lost, seq gap-free; {verified}");
    }
}
