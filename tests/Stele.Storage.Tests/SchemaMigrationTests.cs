using System.Security.Cryptography;
using System.Text.Json;
using Stele.Core.Checkpoints;
using Stele.Core.Events;
using Stele.Core.Merkle;
using Stele.Core.Notes;
using Stele.Core.Verification;

namespace Stele.Storage.Tests;

/// <summary>
/// Upgrading a database that an older Stele left at schema version 1: the backend builds the
/// version 1 schema (its first migration only) and fills it with rows of genuine v1 events, tree
/// nodes, signed checkpoints, keys and settings; the current code then opens it, migrates it to
/// the current version, and must serve the same rows, verify them, and accept new writes.
/// </summary>
public abstract class SchemaMigrationTests
{
    private const string Instance = "migration.test";
    private const int EventCount = 300;
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>The schema version the current code migrates to.</summary>
    protected abstract int CurrentVersion { get; }

    /// <summary>
    /// Whether the migration keeps the version 1 index rows (so the migrated indexes already cover
    /// every event), or starts the indexes over at seq 0 for the indexer to rebuild from the leaves.
    /// </summary>
    protected abstract bool KeepsVersionOneIndexRows { get; }

    /// <summary>
    /// A database at schema version 1, created by migration 1 alone. <paramref name="fill"/> writes
    /// ledgers, payloads, tree nodes, checkpoints, keys and settings through a current store (their
    /// tables are unchanged since version 1) and returns the id of the ledger that holds
    /// <paramref name="events"/>; those tables are copied, and the events are written as version 1
    /// wrote them: one row each with its query columns, its target rows and its search row.
    /// Returns a store over the database that is not yet initialised.
    /// </summary>
    protected abstract Task<ISteleStore> CreateVersionOneDatabaseAsync(Func<ISteleStore, Task<long>> fill, IReadOnlyList<VersionOneEvent> events);

    /// <summary>The version recorded in the database's <c>stele_schema</c> table.</summary>
    protected abstract Task<int> ReadSchemaVersionAsync(ISteleStore store);

    [StoreFact]
    public async Task A_version_1_database_is_migrated_with_its_data_intact_and_verifying()
    {
        var signer = NoteKeys.Generate(Instance);
        var (events, nodes) = GenuineEvents("main", EventCount);
        var checkpoints = new[] { SignCheckpoint(signer, "main", events, 100), SignCheckpoint(signer, "main", events, EventCount) };
        var key = new ApiKeyRecord
        {
            Id = "key_abcdefghijkl",
            Prefix = "abcdefghijkl",
            SecretHash = SHA256.HashData("secret"u8),
            Name = "admin",
            Ledger = null,
            Permissions = ["admin", "read"],
            CreatedAt = Start,
            IsBootstrap = true,
        };
        var revoked = new ApiKeyRecord
        {
            Id = "key_mnopqrstuvwx",
            Prefix = "mnopqrstuvwx",
            SecretHash = SHA256.HashData("other"u8),
            Name = "old ingest key",
            Ledger = "main",
            Permissions = ["ingest"],
            CreatedAt = Start.AddMinutes(1),
        };

        var rows = events.Select(e => e.Stored).ToArray();
        await using var store = await CreateVersionOneDatabaseAsync(async current =>
        {
            var system = await current.CreateLedgerAsync("_system", null, Start, None);
            var main = await current.CreateLedgerAsync("main", "the product ledger", Start.AddSeconds(1), None);
            Assert.Equal(AppendStatus.Committed, await current.AppendAsync(main!.Id, 0, rows[..200], nodes, None));
            Assert.Equal(AppendStatus.Committed, await current.AppendAsync(main.Id, 200, rows[200..], [], None));
            foreach (var checkpoint in checkpoints)
            {
                await current.AddCheckpointAsync(main.Id, checkpoint, None);
            }

            await current.AddApiKeyAsync(key, None);
            await current.AddApiKeyAsync(revoked, None);
            Assert.True(await current.RevokeApiKeyAsync(revoked.Id, Start.AddMinutes(2), None));
            Assert.True(await current.TrySetSettingAsync("checkpoint_verifier_key", signer.VerifierKey.Format(), None));
            Assert.NotNull(system);
            return main.Id;
        }, events);
        Assert.Equal(1, await ReadSchemaVersionAsync(store));

        await store.InitializeAsync(None);

        Assert.Equal(CurrentVersion, await ReadSchemaVersionAsync(store));
        var ledger = await store.FindLedgerAsync("main", None);
        Assert.NotNull(ledger);
        Assert.Equal("the product ledger", ledger.Description);
        Assert.Equal(["_system", "main"], (await store.ListLedgersAsync(None)).Select(l => l.Name));

        // Every event reads back byte for byte.
        var stored = new List<StoredEvent>();
        await foreach (var e in store.ReadRangeAsync(ledger.Id, 0, EventCount, None))
        {
            stored.Add(e);
        }

        Assert.Equal(EventCount, stored.Count);
        for (var i = 0; i < EventCount; i++)
        {
            AssertSameRow(rows[i], stored[i]);
        }

        var head = await store.GetHeadAsync(ledger.Id, None);
        Assert.Equal(EventCount, head.Size);
        Assert.Equal(rows[^1].ChainHash, head.ChainHead);
        Assert.Equal(nodes[0].Hash, store.ReadNodeHashes(ledger.Id, 8, 0, 1));
        Assert.Equal(rows[42].Id, (await store.GetEventAsync(ledger.Id, rows[42].Id, None))?.Id);
        Assert.Equal([7L], (await store.FindByIdempotencyKeysAsync(ledger.Id, ["order-7"], None)).Select(e => e.Seq));

        // The query indexes either kept the version 1 rows or start over at seq 0; in that case they
        // are caught up the way the indexer does it, from the cursor, with the entries the leaves give.
        var indexed = await store.GetIndexedSizeAsync(ledger.Id, None);
        Assert.Equal(KeepsVersionOneIndexRows ? EventCount : 0, indexed);
        if (indexed < EventCount)
        {
            Assert.Empty((await store.QueryEventsAsync(ledger.Id, new EventQuery { Action = "document.*", Limit = 1000 }, None)).Events);
            var backlog = events[(int)indexed..].Select(e => e.Index).ToList();
            Assert.Equal(IndexStatus.Indexed, await store.IndexAsync(ledger.Id, indexed, backlog, None));
        }

        Assert.Equal(EventCount, await store.GetIndexedSizeAsync(ledger.Id, None));
        await store.IndexAllSearchAsync(ledger.Id);
        Assert.Equal([13L], (await store.QueryEventsAsync(ledger.Id, new EventQuery { Search = "invoice 13 " }, None)).Events.Select(e => e.Seq));
        Assert.Equal(EventCount / 3, (await store.QueryEventsAsync(ledger.Id, new EventQuery { TargetType = "folder", Limit = 1000 }, None)).Events.Count);
        Assert.Equal(EventCount / 2, (await store.QueryEventsAsync(ledger.Id, new EventQuery { Action = "document.*", Limit = 1000 }, None)).Events.Count);
        Assert.Equal(
            Enumerable.Range(0, EventCount).Where(seq => seq % 11 == 3).Select(seq => (long)seq),
            (await store.QueryEventsAsync(ledger.Id, new EventQuery { ActorId = "user_3", Ascending = true, Limit = 1000 }, None)).Events.Select(e => e.Seq));
        Assert.Equal(
            [10L, 11L, 12L],
            (await store.QueryEventsAsync(ledger.Id, new EventQuery { FromMicros = events[10].Index.OccurredAtMicros, ToMicros = events[13].Index.OccurredAtMicros, Ascending = true }, None))
                .Events.Select(e => e.Seq));

        // The ledger verifies: leaves, payload digests, chain and the root of each signed checkpoint.
        var verifier = new LedgerVerifier("main");
        var opener = new CheckpointVerifier(signer.VerifierKey);
        var storedCheckpoints = await store.ListCheckpointsAsync(ledger.Id, 1, EventCount, None);
        Assert.Equal([100L, (long)EventCount], storedCheckpoints.Select(c => c.Size));
        foreach (var c in storedCheckpoints)
        {
            var opened = opener.Open(c.SignedNote, $"{Instance}/main");
            verifier.AddCheckpoint(new CheckpointClaim(opened.Size, opened.RootHash, opened.ChainHash, true, $"checkpoint {c.Size}"));
        }

        foreach (var e in stored)
        {
            ReadOnlyMemory<byte>? payload = e.Payload is null ? (ReadOnlyMemory<byte>?)null : new ReadOnlyMemory<byte>(e.Payload);
            verifier.Add(new LedgerEntry(e.Seq, e.Leaf, payload, e.LeafHash, e.ChainHash));
        }

        var report = verifier.Finish(EventCount);
        Assert.True(report.IsValid, string.Join("; ", report.Breaks.Take(5)));
        Assert.Equal(EventCount, report.EventsChecked);
        Assert.Equal(2, report.CheckpointsChecked);
        Assert.Equal(1, report.PayloadsErased);

        // Keys and settings are as they were.
        var keys = await store.ListApiKeysAsync(null, None);
        Assert.Equal([key.Id, revoked.Id], keys.Select(k => k.Id));
        Assert.Equal(key.SecretHash, (await store.FindApiKeyByPrefixAsync(key.Prefix, None))?.SecretHash);
        Assert.Equal(["admin", "read"], keys[0].Permissions);
        Assert.True(keys[0].IsBootstrap);
        Assert.Equal(Start.AddMinutes(2), keys[1].RevokedAt);
        Assert.Equal(signer.VerifierKey.Format(), await store.GetSettingAsync("checkpoint_verifier_key", None));

        // What later versions added works on the upgraded database, and the ledger grows on from its head.
        var (more, _) = GenuineEvents("main", EventCount + 5);
        Assert.Equal(AppendStatus.Committed, await store.AppendAtHeadAsync(ledger.Id, h =>
        {
            Assert.Equal(EventCount, h.Size);
            return Task.FromResult(new AppendBatch(more[EventCount..].Select(e => e.Stored).ToList(), []));
        }, None));
        Assert.Equal(EventCount + 5, (await store.GetHeadAsync(ledger.Id, None)).Size);
        Assert.Equal(IndexStatus.Indexed, await store.IndexAsync(ledger.Id, EventCount, more[EventCount..].Select(e => e.Index).ToList(), None));
        await store.IndexAllSearchAsync(ledger.Id);
        Assert.Equal(
            [(long)EventCount + 3],
            (await store.QueryEventsAsync(ledger.Id, new EventQuery { Search = $"invoice {EventCount + 3} " }, None)).Events.Select(e => e.Seq));
        var export = new ExportJob { Id = "exp_after", LedgerId = ledger.Id, Request = """{"format":"csv"}""", CreatedBy = key.Id, CreatedAt = Start, State = ExportJob.Queued };
        Assert.True(await store.TryAddExportAsync(export, Start.AddDays(-1), 10, None));
        Assert.Equal("w1", (await store.TryClaimExportAsync(export.Id, "w1", Start, Start.AddMinutes(1), 5, None))?.Worker);
        var created = await store.CreateLedgerAsync("later", null, Start, None);
        Assert.NotNull(created);
        Assert.DoesNotContain(created.Id, (await store.ListLedgersAsync(None)).Where(l => l.Name != "later").Select(l => l.Id));

        // Opening the migrated database again changes nothing.
        await using var reopened = await ReopenAsync(store);
        Assert.Equal(EventCount + 5, (await reopened.GetHeadAsync(ledger.Id, None)).Size);
        Assert.Equal(CurrentVersion, await ReadSchemaVersionAsync(reopened));
    }

    /// <summary>Another, initialised store over the same database.</summary>
    protected abstract Task<ISteleStore> ReopenAsync(ISteleStore store);

    /// <summary>
    /// The version 1 row of <paramref name="event"/>: character-reversed action (for suffix patterns),
    /// as version 1 stored it beside the action.
    /// </summary>
    protected static string ReversedAction(EventIndexEntry @event)
    {
        ArgumentNullException.ThrowIfNull(@event);
        var chars = @event.Action.ToCharArray();
        Array.Reverse(chars);
        return new string(chars);
    }

    /// <summary>A genuine event: its durable row and the query columns, targets and search text describing it.</summary>
    protected sealed record VersionOneEvent(StoredEvent Stored, EventIndexEntry Index);

    /// <summary>
    /// Genuine v1 events (the exact bytes the server writes) with a correct chain, every third with
    /// a target, every second a document action, one erased payload (seq 5), idempotency keys on a
    /// few; and the tile-boundary node at level 8 if there are 256 or more.
    /// </summary>
    private static (VersionOneEvent[] Events, StoredTreeNode[] Nodes) GenuineEvents(string ledger, int count)
    {
        var events = new VersionOneEvent[count];
        var chain = ChainHash.Genesis(ledger);
        var tree = new InMemoryMerkleTree();
        var salt = new byte[32];
        for (var seq = 0; seq < count; seq++)
        {
            var receivedAt = Start.AddMilliseconds(seq);
            var record = new EventRecord
            {
                ActorId = $"user_{seq % 11}",
                ActorName = $"User {seq}",
                Action = seq % 2 == 0 ? "document.viewed" : "user.login",
                Resource = "document",
                ResourceId = $"doc_{seq}",
                TenantId = "acme",
                OccurredAt = receivedAt.AddSeconds(-1),
                Targets = seq % 3 == 0 ? [new EventTarget { Type = "folder", Id = $"f_{seq}", Name = "Reports" }] : [],
                Metadata = JsonDocument.Parse($$"""{"invoice":"invoice {{seq}} "}""").RootElement,
            };
            RandomNumberGenerator.Fill(salt);
            var id = EventId.New(receivedAt);
            var encoded = EventEncoderV1.Encode(record, ledger, seq, id, receivedAt, salt);
            chain = ChainHash.Next(chain, encoded.LeafHash);
            tree.Append(encoded.LeafHash);
            var stored = new StoredEvent
            {
                Seq = seq,
                Id = id,
                ReceivedAtMicros = (receivedAt.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10,
                IdempotencyKey = seq % 7 == 0 ? $"order-{seq}" : null,
                Leaf = encoded.Leaf,
                LeafHash = encoded.LeafHash,
                ChainHash = chain,
                Payload = seq == 5 ? null : encoded.Payload,
            };
            var index = new EventIndexEntry
            {
                Seq = seq,
                Id = id,
                OccurredAtMicros = (record.OccurredAt.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10,
                ActorId = record.ActorId,
                Action = record.Action,
                Resource = record.Resource,
                ResourceId = record.ResourceId,
                TenantId = record.TenantId,
                Outcome = "success",
                Targets = record.Targets.Select(t => new StoredTarget(t.Type, t.Id)).ToList(),
                SearchText = $"{record.ActorName} {record.Action} invoice {seq} ".ToLowerInvariant(),
            };
            events[seq] = new VersionOneEvent(stored, index);
        }

        StoredTreeNode[] nodes = count >= 256 ? [new StoredTreeNode(8, 0, tree.GetNode(8, 0))] : [];
        return (events, nodes);
    }

    private static StoredCheckpoint SignCheckpoint(NoteSignerKey signer, string ledger, VersionOneEvent[] events, int size)
    {
        var tree = new InMemoryMerkleTree();
        foreach (var e in events[..size])
        {
            tree.Append(e.Stored.LeafHash);
        }

        var root = tree.Root();
        var chainHead = events[size - 1].Stored.ChainHash;
        var note = new CheckpointSigner(signer).Sign(Checkpoint.Create($"{Instance}/{ledger}", size, root, chainHead));
        return new StoredCheckpoint(size, root, chainHead, note, Start.AddSeconds(size));
    }

    private static void AssertSameRow(StoredEvent expected, StoredEvent actual)
    {
        Assert.Equal(expected.Seq, actual.Seq);
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.ReceivedAtMicros, actual.ReceivedAtMicros);
        Assert.Equal(expected.IdempotencyKey, actual.IdempotencyKey);
        Assert.Equal(expected.Leaf, actual.Leaf);
        Assert.Equal(expected.LeafHash, actual.LeafHash);
        Assert.Equal(expected.ChainHash, actual.ChainHash);
        Assert.Equal(expected.Payload, actual.Payload);
    }
}
