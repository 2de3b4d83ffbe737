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
    public Task<VerificationReport> VerifyAsync(LedgerInfo ledger, long? from, long? to, CancellationToken cancellationToken) =>
        VerifyAsync(ledger, from, to, ChunksInFlight, ChunkSize, cancellationToken);

    /// <summary>
    /// The same with at most <paramref name="chunksInFlight"/> chunks of <paramref name="chunkSize"/> rows
    /// read and prepared at once: one small chunk makes the verification a background sweep that takes
    /// about one core and holds few rows, instead of every core and several chunks
    /// (<see cref="Alerts.TamperMonitor"/>).
    /// </summary>
    public async Task<VerificationReport> VerifyAsync(LedgerInfo ledger, long? from, long? to, int chunksInFlight, int chunkSize, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunksInFlight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
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

        // Chunks of rows are read and prepared (leaf hashes, leaf checks, payload digests: the work that
        // needs no other row) several at once, each on its own reader, and handed to the chain and tree
        // checks strictly in seq order. At most chunksInFlight chunks are held, each in a buffer of its
        // own that the next chunk reuses once these checks are done with it.
        var inFlight = new Queue<Task<(IReadOnlyList<LedgerEntry> Entries, PreparedEntry[] Prepared, LedgerEntryBuffer Buffer)>>();
        var buffers = new Stack<LedgerEntryBuffer>();
        var next = start;
        try
        {
            while (next < end || inFlight.Count > 0)
            {
                while (next < end && inFlight.Count < chunksInFlight)
                {
                    var (chunkStart, chunkEnd) = (next, Math.Min(next + chunkSize, end));
                    var buffer = buffers.Count > 0 ? buffers.Pop() : new LedgerEntryBuffer();
                    inFlight.Enqueue(Task.Run(() => ReadAndPrepareAsync(ledger.Id, chunkStart, chunkEnd, buffer, cancellationToken), cancellationToken));
                    next = chunkEnd;
                }

                var (entries, prepared, used) = await inFlight.Dequeue().ConfigureAwait(false);
                for (var i = 0; i < entries.Count; i++)
                {
                    verifier.Add(entries[i], prepared[i]);
                }

                // The verifier keeps no reference to a row's bytes once it has added the row.
                used.Reset();
                buffers.Push(used);
            }
        }
        finally
        {
            // On failure or cancellation, the chunks still being read finish (their outcome unobserved) before this returns.
            await ((Task)Task.WhenAll(inFlight)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        return verifier.Finish(end);
    }

    /// <summary>The rows of [<paramref name="from"/>, <paramref name="to"/>) as the store holds them (missing seqs are absent), each prepared.</summary>
    private async Task<(IReadOnlyList<LedgerEntry>, PreparedEntry[], LedgerEntryBuffer)> ReadAndPrepareAsync(
        long ledgerId, long from, long to, LedgerEntryBuffer buffer, CancellationToken cancellationToken)
    {
        var entries = await store.ReadLedgerEntriesAsync(ledgerId, from, to, buffer, cancellationToken).ConfigureAwait(false);
        var prepared = new PreparedEntry[entries.Count];
        for (var i = 0; i < prepared.Length; i++)
        {
            prepared[i] = LedgerVerifier.Prepare(entries[i]);
        }

        return (entries, prepared, buffer);
    }

    /// <summary>Rows per chunk of <c>GET /verify</c>, read by one reader.</summary>
    private const int ChunkSize = 2000;

    /// <summary>Chunks read and prepared at once: enough to keep every core busy while the ordered checks run, and a bound on memory.</summary>
    private static int ChunksInFlight => Math.Clamp(2 * Environment.ProcessorCount, 4, 16);

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
