using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Stele.Core.Merkle;
using Stele.Server.Integrity;
using Stele.Storage;
using Stele.Storage.Sqlite;

namespace Stele.Server.Tests;

/// <summary>The shared proof caches give exactly the proofs a tree built in memory gives, for full and partial tiles, before and after warming.</summary>
public sealed class ProofTilesTests : IAsyncLifetime
{
    // Beyond one full level-1 tile (65,536 leaves), with a partial level-0 and level-1 tile at the end.
    private const long Size = 65_536 + 3 * 256 + 77;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "stele-proof-tiles-" + Guid.NewGuid().ToString("N"));
    private readonly InMemoryMerkleTree _reference = new();
    private SqliteSteleStore _store = null!;
    private long _ledger;

    public async Task InitializeAsync()
    {
        _store = new SqliteSteleStore(Path.Combine(_directory, "stele.db"));
        await _store.InitializeAsync(CancellationToken.None);
        _ledger = (await _store.CreateLedgerAsync("main", null, DateTimeOffset.UnixEpoch, CancellationToken.None))!.Id;
        var tracker = new TileBoundaryTracker();
        for (long start = 0; start < Size; start += 10_000)
        {
            var rows = new List<StoredEvent>();
            var nodes = new List<StoredTreeNode>();
            for (var seq = start; seq < Math.Min(Size, start + 10_000); seq++)
            {
                var leafHash = SHA256.HashData(BitConverter.GetBytes(seq));
                _reference.Append(leafHash);
                tracker.Append(leafHash, nodes);
                rows.Add(new StoredEvent { Seq = seq, Id = $"ev-{seq}", ReceivedAtMicros = seq, Leaf = [1], LeafHash = leafHash, ChainHash = leafHash });
            }

            Assert.Equal(AppendStatus.Committed, await _store.AppendAsync(_ledger, start, rows, nodes, CancellationToken.None));
        }
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void Inclusion_proofs_match_the_reference_tree_for_every_kind_of_tile_before_and_after_warming()
    {
        var tiles = new ProofTiles(_store);
        // The last four share their partial tiles' coordinates and differ in width: each width is its own entry.
        long[] sizes = [1, 255, 256, 257, 4096, 65_535, 65_536, 65_537, Size - 1, Size, Size - 2, Size - 1];
        var random = new Random(3);
        foreach (var warm in new[] { false, true })
        {
            if (warm)
            {
                tiles.Warm(_ledger, Size, maxTiles: 10_000);
            }

            foreach (var size in sizes)
            {
                var source = tiles.For(_ledger, size);
                var seqs = new[] { 0L, size - 1, size / 2 }.Concat(Enumerable.Range(0, 40).Select(_ => random.NextInt64(size)));
                foreach (var seq in seqs)
                {
                    var expected = MerkleProofs.Inclusion(seq, size, _reference);
                    Assert.Equal(expected, MerkleProofs.Inclusion(seq, size, source));
                }
            }
        }
    }
}
