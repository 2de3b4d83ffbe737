using System.Threading.Channels;
using Stele.Core.Checkpoints;
using Stele.Core.Merkle;
using Stele.Core.Verification;
using Stele.Storage;

namespace Stele.Server.Integrity;

/// <summary>
/// Re-verifies a ledger, or a seq range of it, from what the database holds: every leaf against
/// its stored hash, every payload against its digest, the hash chain, and the Merkle root against
/// every signed checkpoint in range (whose signatures are checked with the instance key).
/// </summary>
internal sealed class LedgerVerification(ISteleStore store, InstanceKey key)
{
    public async Task<VerificationReport> VerifyAsync(LedgerInfo ledger, long? from, long? to, CancellationToken cancellationToken)
    {
        var head = await store.GetHeadAsync(ledger.Id, cancellationToken).ConfigureAwait(false);
        var start = Math.Clamp(from ?? 0, 0, head.Size);
        var end = Math.Clamp(to ?? head.Size, start, head.Size);

        LedgerVerifier verifier;
        if (start == 0)
        {
            verifier = new LedgerVerifier(ledger.Name);
        }
        else
        {
            // Start mid-ledger from the stored tree and the chain hash of the event before.
            var range = CompactRange.Restore(start, StoredTiles.NodeSource(store, ledger.Id, start));
            byte[]? previousChain = null;
            await foreach (var e in store.ReadRangeAsync(ledger.Id, start - 1, start, cancellationToken).ConfigureAwait(false))
            {
                previousChain = e.ChainHash;
            }

            verifier = LedgerVerifier.StartingAt(ledger.Name, range, previousChain ?? ChainHashOrGenesis(ledger.Name));
        }

        var opener = new CheckpointVerifier(key.SignerKey.VerifierKey);
        foreach (var stored in await store.ListCheckpointsAsync(ledger.Id, Math.Max(start, 1), end, cancellationToken).ConfigureAwait(false))
        {
            verifier.AddCheckpoint(ToClaim(opener, $"{key.SignerKey.Name}/{ledger.Name}", stored));
        }

        // Three stages at once: reading rows, the per-row work that needs no other row (hashing and
        // decoding each leaf, on every core), and the chain and tree, which go strictly in seq order.
        var chunks = Channel.CreateBounded<(LedgerEntry[] Entries, PreparedEntry[] Prepared)>(new BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true });
        var producing = Task.Run(() => ProduceAsync(ledger, start, end, chunks.Writer, cancellationToken), cancellationToken);
        await foreach (var (entries, prepared) in chunks.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            for (var i = 0; i < entries.Length; i++)
            {
                verifier.Add(entries[i], prepared[i]);
            }
        }

        await producing.ConfigureAwait(false);
        return verifier.Finish(end);
    }

    private async Task ProduceAsync(LedgerInfo ledger, long start, long end, ChannelWriter<(LedgerEntry[], PreparedEntry[])> chunks, CancellationToken cancellationToken)
    {
        try
        {
            // Reading goes on while earlier chunks are prepared; chunks are handed on in seq order.
            var preparing = new Queue<Task<(LedgerEntry[], PreparedEntry[])>>();
            var batch = new List<LedgerEntry>(ChunkSize);
            await foreach (var e in store.ReadRangeAsync(ledger.Id, start, end, cancellationToken).ConfigureAwait(false))
            {
                // A null byte[] would convert to an empty (non-null) memory: map erased payloads explicitly.
                ReadOnlyMemory<byte>? payload = e.Payload is null ? (ReadOnlyMemory<byte>?)null : new ReadOnlyMemory<byte>(e.Payload);
                batch.Add(new LedgerEntry(e.Seq, e.Leaf, payload, e.LeafHash, e.ChainHash));
                if (batch.Count == ChunkSize)
                {
                    var full = batch;
                    preparing.Enqueue(Task.Run(() => Prepare(full), cancellationToken));
                    batch = new List<LedgerEntry>(ChunkSize);
                    if (preparing.Count > 2)
                    {
                        await chunks.WriteAsync(await preparing.Dequeue().ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            if (batch.Count > 0)
            {
                preparing.Enqueue(Task.Run(() => Prepare(batch), cancellationToken));
            }

            while (preparing.Count > 0)
            {
                await chunks.WriteAsync(await preparing.Dequeue().ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            }

            chunks.Complete();
        }
        catch (Exception ex)
        {
            chunks.Complete(ex);
            throw;
        }
    }

    private static (LedgerEntry[], PreparedEntry[]) Prepare(List<LedgerEntry> batch)
    {
        var entries = batch.ToArray();
        var prepared = new PreparedEntry[entries.Length];
        Parallel.For(0, entries.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i => prepared[i] = LedgerVerifier.Prepare(entries[i]));
        return (entries, prepared);
    }

    private const int ChunkSize = 1024;

    internal static CheckpointClaim ToClaim(CheckpointVerifier opener, string origin, StoredCheckpoint stored)
    {
        var source = $"checkpoint at size {stored.Size}";
        try
        {
            var checkpoint = opener.Open(stored.SignedNote, origin);
            var matches = checkpoint.Size == stored.Size && checkpoint.RootHash.AsSpan().SequenceEqual(stored.RootHash);
            return new CheckpointClaim(checkpoint.Size, checkpoint.RootHash, checkpoint.ChainHash, matches, source);
        }
#pragma warning disable CA1031 // Any failure to open the note is a verification finding, not a crash.
        catch (Exception)
#pragma warning restore CA1031
        {
            return new CheckpointClaim(stored.Size, stored.RootHash, stored.ChainHead, false, source);
        }
    }

    private static byte[] ChainHashOrGenesis(string ledger) => ChainHash.Genesis(ledger);
}
