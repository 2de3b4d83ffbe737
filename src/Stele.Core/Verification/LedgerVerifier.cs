using Stele.Core.Events;
using Stele.Core.Hashing;
using Stele.Core.Merkle;

namespace Stele.Core.Verification;

/// <summary>
/// Streams a ledger's rows in seq order and checks every commitment DESIGN.md ("Integrity,
/// version 1") defines: leaf hashes, payload digests, the hash chain, the RFC 6962 tree against
/// signed checkpoints, and gap-free seqs. Memory stays bounded: a <see cref="CompactRange"/>, the
/// last few rows' chain state, counters, pending checkpoints and at most <c>maxBreaks</c> breaks.
/// </summary>
/// <remarks>
/// The rules aim for one tampering to give one break at the seq where it happened, not a flood:
/// <list type="bullet">
/// <item>Leaf bytes that do not hash to the stored leaf hash give <c>leaf_mismatch</c>; the stored
/// hash then stands in for the tree and chain, and the untrusted bytes are not read further.</item>
/// <item>A row's chain hash is checked against the row its leaf names as predecessor (inner seq - 1)
/// among the last few rows, so a reordered row breaks only where it stands.</item>
/// <item>Two chain tracks are followed: the stored one and, once they part, the computed (or
/// checkpoint-signed) one. A row or checkpoint agreeing with either is not a new break, so one bad
/// stored chain hash, or a rewritten chain tail, is reported once.</item>
/// <item>A leaf whose inner seq is neither its position nor its predecessor's inner seq + 1 is out of
/// place (<c>chain_break</c>); after an insertion or deletion that shifted rows, later rows follow
/// their predecessor again and are not reported.</item>
/// <item>After a missing seq the tree is unknowable, so later checkpoint roots are skipped; after a
/// root (or chain head) mismatch at a checkpoint, later checkpoints that disagree the same way are
/// counted in <see cref="VerificationReport.CheckpointsNotCompared"/> rather than reported again,
/// until one agrees. A single wrong checkpoint therefore costs one break, and so does a rewritten tree.</item>
/// </list>
/// Not thread-safe, except that <see cref="EventsChecked"/> and <see cref="NextSeq"/> may be read
/// from another thread to show progress.
/// </remarks>
public sealed class LedgerVerifier
{
    /// <summary>Default cap on listed breaks; all breaks are still counted.</summary>
    public const int DefaultMaxBreaks = 10_000;

    // Enough rows back to find the predecessor of a swapped pair or a single inserted row.
    private const int ChainWindow = 4;

    private readonly string _ledger;
    private readonly byte[] _ledgerUtf8;
    private readonly long _firstSeq;
    private readonly int _maxBreaks;
    private readonly CompactRange _range;
    private readonly List<ChainState> _window = [];
    private readonly SortedDictionary<long, List<CheckpointClaim>> _pending = [];
    private readonly List<VerificationBreak> _breaks = [];

    private long _next;
    private long _eventsChecked;
    private long _previousInnerSeq;
    private bool _treeKnown = true;
    private bool _rootDiverged;
    private bool _chainDiverged;
    private long _payloadsErased;
    private long _checkpointsChecked;
    private long _checkpointsNotCompared;
    private long _breakCount;
    private long _referenceSize = -1;
    private CheckpointClaim? _reference;
    private bool _finished;

    /// <summary>Verifies a whole ledger from seq 0.</summary>
    public LedgerVerifier(string ledger, int maxBreaks = DefaultMaxBreaks)
        : this(ledger, new CompactRange(), ChainHash.Genesis(ledger), maxBreaks)
    {
    }

    private LedgerVerifier(string ledger, CompactRange range, byte[] chainBefore, int maxBreaks)
    {
        ArgumentException.ThrowIfNullOrEmpty(ledger);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBreaks);
        _ledger = ledger;
        _ledgerUtf8 = System.Text.Encoding.UTF8.GetBytes(ledger);
        _maxBreaks = maxBreaks;
        _range = range;
        _firstSeq = range.Size;
        _next = range.Size;
        _previousInnerSeq = range.Size - 1;
        _window.Add(new ChainState(range.Size - 1, chainBefore, null));
    }

    /// <summary>
    /// Verifies the range starting at seq <c>rangeBefore.Size</c>, given the tree state of
    /// [0, k) and <c>chain_hash[k-1]</c> (the genesis hash when k is 0), both trusted by the caller.
    /// </summary>
    public static LedgerVerifier StartingAt(
        string ledger, CompactRange rangeBefore, ReadOnlySpan<byte> chainHashBefore, int maxBreaks = DefaultMaxBreaks)
    {
        ArgumentNullException.ThrowIfNull(rangeBefore);
        if (chainHashBefore.Length != ChainHash.Size)
        {
            throw new ArgumentException($"A chain hash is {ChainHash.Size} bytes.", nameof(chainHashBefore));
        }

        return new LedgerVerifier(ledger, rangeBefore.Clone(), chainHashBefore.ToArray(), maxBreaks);
    }

    /// <summary>Rows checked so far (progress).</summary>
    public long EventsChecked => Interlocked.Read(ref _eventsChecked);

    /// <summary>The seq the next row should have.</summary>
    public long NextSeq => Interlocked.Read(ref _next);

    /// <summary>
    /// Registers a checkpoint. It is compared when the verified size reaches its size, which must
    /// not have been passed already: add checkpoints before the rows that reach them.
    /// </summary>
    public void AddCheckpoint(CheckpointClaim claim)
    {
        ArgumentNullException.ThrowIfNull(claim);
        ThrowIfFinished();
        if (claim.RootHash is null || claim.RootHash.Length != MerkleHash.Size
            || (claim.ChainHash is not null && claim.ChainHash.Length != ChainHash.Size))
        {
            throw new ArgumentException("A checkpoint's root and chain hashes are 32 bytes.", nameof(claim));
        }

        if (claim.Size < _next)
        {
            throw new ArgumentException(
                $"The checkpoint of size {claim.Size} from {claim.Source} arrived after the verifier passed seq {_next - 1}.",
                nameof(claim));
        }

        if (claim.Size == _next)
        {
            Evaluate(claim);
            return;
        }

        if (!_pending.TryGetValue(claim.Size, out var list))
        {
            _pending[claim.Size] = list = [];
        }

        list.Add(claim);
    }

    /// <summary>
    /// The part of checking a row that does not depend on any other row: its leaf hash, the fields of
    /// its leaf the checks read (or why it is not a v1 leaf) and its payload digest. Thread-safe, so rows
    /// can be prepared in parallel and then added in seq order with <see cref="Add(LedgerEntry, PreparedEntry)"/>.
    /// </summary>
    public static PreparedEntry Prepare(LedgerEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var leafBytes = entry.Leaf.Span;
        var leafHash = MerkleHash.Leaf(leafBytes);
        LeafFields? leaf = null;
        EventFormatException? problem = null;
        var leafDigest = new byte[Sha256Hash.Size];
        if (CanonicalLeafCheck.TryCheck(leafBytes, leafDigest, out var located))
        {
            // The usual case: a canonical leaf is checked without being decoded.
            leaf = new LeafFields(located, leafDigest);
        }
        else
        {
            try
            {
                leaf = new LeafFields(EventLeafV1.Parse(leafBytes));
            }
            catch (EventFormatException ex)
            {
                problem = ex;
            }
        }

        var digest = entry.Payload is { } payload ? Sha256Hash.Hash(payload.Span) : null;
        return new PreparedEntry(leafHash, leaf, problem, digest);
    }

    /// <summary>Checks one row. Rows must come in increasing seq order; gaps are reported.</summary>
    public void Add(LedgerEntry entry) => Add(entry, Prepare(entry));

    /// <summary>Checks one row whose independent part <paramref name="prepared"/> holds (from <see cref="Prepare"/> of this entry).</summary>
    public void Add(LedgerEntry entry, PreparedEntry prepared)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(prepared);
        ThrowIfFinished();
        if (entry.Seq < _next)
        {
            Report(entry.Seq, null, BreakType.ChainBreak, null, null,
                $"A second row for seq {entry.Seq} arrived after seq {_next - 1}; it is not part of the chain and was not verified.");
            return;
        }

        if (entry.Seq > _next)
        {
            ReportMissing(_next, entry.Seq, $"the next row has seq {entry.Seq}");
            // The skipped leaves are unknown: the tree cannot be rebuilt and the next row's chain
            // predecessor is gone, so both restart from what the following rows and checkpoints say.
            _treeKnown = false;
            _window.Clear();
            _previousInnerSeq = entry.Seq - 1;
            Interlocked.Exchange(ref _next, entry.Seq);
        }

        var position = entry.Seq;
        var leafHash = prepared.LeafHash;
        var trusted = true;
        if (entry.StoredLeafHash is { } storedLeafHash && !storedLeafHash.AsSpan().SequenceEqual(leafHash))
        {
            Report(position, null, BreakType.LeafMismatch, Hex(storedLeafHash), Hex(leafHash),
                $"The leaf bytes at seq {position} do not hash to the stored leaf hash.");
            leafHash = storedLeafHash;
            trusted = false;
        }

        LeafFields? leaf = null;
        if (trusted)
        {
            leaf = prepared.Leaf;
            if (prepared.LeafProblem is { } ex)
            {
                Report(position, null, BreakType.LeafMismatch, null, Hex(leafHash),
                    $"The leaf at seq {position} is not a v1 leaf ({ex.Code}): {ex.Message}");
            }
        }

        if (entry.Payload is null)
        {
            _payloadsErased++;
        }
        else if (leaf is not null)
        {
            var digest = prepared.PayloadDigest ?? Sha256Hash.Hash(entry.Payload.Value.Span);
            if (!digest.AsSpan().SequenceEqual(leaf.PayloadDigest))
            {
                Report(position, leaf.Id(entry.Leaf.Span), BreakType.PayloadMismatch, Hex(leaf.PayloadDigest), Hex(digest),
                    $"The payload at seq {position} does not hash to the leaf's payload_digest.");
            }
        }

        var innerSeq = leaf?.Seq ?? position;
        List<string>? problems = null;
        if (leaf is not null && !leaf.BelongsTo(entry.Leaf.Span, _ledger, _ledgerUtf8))
        {
            (problems ??= []).Add($"the leaf at seq {position} belongs to ledger \"{leaf.Ledger(entry.Leaf.Span)}\", not \"{_ledger}\"");
        }

        if (innerSeq != position && innerSeq != _previousInnerSeq + 1)
        {
            (problems ??= []).Add($"the leaf at seq {position} says seq {innerSeq}, following a leaf that says seq {_previousInnerSeq}");
        }

        var (state, expected, actual, linkProblem) = Link(innerSeq, leafHash, entry.StoredChainHash);
        if (linkProblem is not null)
        {
            (problems ??= []).Add(linkProblem);
        }

        if (problems is not null)
        {
            Report(position, leaf?.Id(entry.Leaf.Span), BreakType.ChainBreak, expected, actual, Capitalize(string.Join("; ", problems)) + ".");
        }

        _window.Add(state);
        if (_window.Count > ChainWindow)
        {
            _window.RemoveAt(0);
        }

        _previousInnerSeq = innerSeq;
        if (_treeKnown)
        {
            _range.Append(leafHash);
        }

        Interlocked.Increment(ref _eventsChecked);
        Interlocked.Increment(ref _next);
        if (_pending.Remove(_next, out var claims))
        {
            foreach (var claim in claims)
            {
                Evaluate(claim);
            }
        }
    }

    /// <summary>
    /// Ends verification. Seqs below <paramref name="expectedSize"/> (the size the store reports) or
    /// below a pending checkpoint's size that never arrived are reported missing, and such checkpoints
    /// as inconsistent with the ledger.
    /// </summary>
    public VerificationReport Finish(long? expectedSize)
    {
        ThrowIfFinished();
        _finished = true;
        var end = Math.Max(_next, expectedSize ?? 0);
        foreach (var size in _pending.Keys)
        {
            end = Math.Max(end, size);
        }

        var ledgerSize = _next;
        if (end > _next)
        {
            ReportMissing(_next, end, $"the rows end at seq {_next - 1}");
            Interlocked.Exchange(ref _next, end);
        }

        foreach (var (size, claims) in _pending)
        {
            foreach (var claim in claims)
            {
                _checkpointsChecked++;
                Report(size - 1, null, BreakType.CheckpointInconsistent, Hex(claim.RootHash), null,
                    claim.SignatureValid
                        ? $"The checkpoint from {claim.Source} claims size {size}, but the ledger has {ledgerSize} events."
                        : $"The checkpoint from {claim.Source} at size {size} has an invalid signature (and the ledger has {ledgerSize} events).");
            }
        }

        _pending.Clear();
        var head = _window.Count > 0 && ledgerSize == _next ? _window[^1].Primary : null;
        return new VerificationReport
        {
            Ledger = _ledger,
            FirstSeq = _firstSeq,
            EndSeq = _next,
            EventsChecked = _eventsChecked,
            PayloadsErased = _payloadsErased,
            CheckpointsChecked = _checkpointsChecked,
            CheckpointsNotCompared = _checkpointsNotCompared,
            RootHash = _treeKnown && ledgerSize == _next ? Hex(_range.Root()) : null,
            ChainHead = head is null ? null : Hex(head),
            Breaks = _breaks.ToArray(),
            BreakCount = _breakCount,
        };
    }

    private (ChainState State, string? Expected, string? Actual, string? Problem) Link(
        long innerSeq, byte[] leafHash, byte[]? stored)
    {
        // The predecessor is the row the leaf itself names (inner seq - 1) if it is near, else the previous row.
        ChainState? predecessor = null;
        for (var i = _window.Count - 1; i >= 0 && predecessor is null; i--)
        {
            if (_window[i].InnerSeq == innerSeq - 1)
            {
                predecessor = _window[i];
            }
        }

        predecessor ??= _window.Count > 0 ? _window[^1] : null;
        var fromPrimary = predecessor?.Primary is { } p ? ChainHash.Next(p, leafHash) : null;
        var fromAlternate = predecessor?.Alternate is { } a ? ChainHash.Next(a, leafHash) : null;

        if (stored is null)
        {
            // Verifying from tiles: the chain exists only as computed (and as checkpoints sign it).
            return (new ChainState(innerSeq, fromPrimary, fromAlternate), null, null, null);
        }

        if (fromPrimary is null)
        {
            // The predecessor is missing: start again from the stored value.
            return (new ChainState(innerSeq, stored, null), null, null, null);
        }

        if (Same(stored, fromPrimary))
        {
            return (new ChainState(innerSeq, stored, fromAlternate is not null && !Same(fromAlternate, stored) ? fromAlternate : null), null, null, null);
        }

        if (fromAlternate is not null && Same(stored, fromAlternate))
        {
            return (new ChainState(innerSeq, stored, fromPrimary), null, null, null);
        }

        return (
            new ChainState(innerSeq, stored, fromAlternate ?? fromPrimary),
            Hex(fromPrimary),
            Hex(stored),
            $"the stored chain hash does not follow from the row that says seq {predecessor!.InnerSeq}");
    }

    private void Evaluate(CheckpointClaim claim)
    {
        _checkpointsChecked++;
        var size = claim.Size;
        var seq = size - 1;
        if (!claim.SignatureValid)
        {
            Report(seq, null, BreakType.CheckpointInconsistent, null, Hex(claim.RootHash),
                $"The checkpoint from {claim.Source} at size {size} has an invalid signature; it was not compared.");
            return;
        }

        if (_referenceSize != size)
        {
            _referenceSize = size;
            _reference = claim;
        }
        else if (!Same(_reference!.RootHash, claim.RootHash)
            || (_reference.ChainHash is not null && claim.ChainHash is not null && !Same(_reference.ChainHash, claim.ChainHash)))
        {
            Report(seq, null, BreakType.CheckpointInconsistent, Hex(_reference.RootHash), Hex(claim.RootHash),
                $"Two signed checkpoints of size {size} disagree: {_reference.Source} and {claim.Source}.");
        }

        var skipped = false;
        if (!_treeKnown)
        {
            skipped = true;
        }
        else
        {
            var root = _range.Root();
            if (Same(root, claim.RootHash))
            {
                _rootDiverged = false;
            }
            else if (_rootDiverged)
            {
                skipped = true;
            }
            else
            {
                _rootDiverged = true;
                Report(seq, null, BreakType.RootMismatch, Hex(claim.RootHash), Hex(root),
                    $"The tree of the first {size} events differs from the root signed in the checkpoint from {claim.Source}.");
            }
        }

        skipped |= !CompareChain(claim, seq);
        if (skipped)
        {
            _checkpointsNotCompared++;
        }
    }

    /// <summary>Compares the checkpoint's chain line; returns false when the comparison was skipped.</summary>
    private bool CompareChain(CheckpointClaim claim, long seq)
    {
        if (claim.ChainHash is null)
        {
            return true;
        }

        if (_window.Count == 0 || _window[^1].Primary is null)
        {
            // The chain was unknown (after a missing event); the signed head lets it resume.
            _window.Clear();
            _window.Add(new ChainState(_previousInnerSeq, claim.ChainHash, null));
            return true;
        }

        var head = _window[^1];
        if (Same(head.Primary!, claim.ChainHash) || (head.Alternate is not null && Same(head.Alternate, claim.ChainHash)))
        {
            _chainDiverged = false;
            return true;
        }

        if (_chainDiverged)
        {
            // Rows shifted by an insertion or deletion keep disagreeing with every later checkpoint:
            // already reported at the first one.
            head.Alternate = claim.ChainHash;
            return false;
        }

        _chainDiverged = true;
        Report(seq, null, BreakType.ChainBreak, Hex(claim.ChainHash), Hex(head.Primary!),
            $"The chain hash at seq {seq} differs from the chain line of the checkpoint from {claim.Source}.");
        // Keep following the signed chain beside the stored one, so later checkpoints are judged against it.
        head.Alternate = claim.ChainHash;
        return true;
    }

    private void ReportMissing(long from, long to, string why)
    {
        for (var seq = from; seq < to; seq++)
        {
            if (_breaks.Count >= _maxBreaks)
            {
                _breakCount += to - seq;
                return;
            }

            Report(seq, null, BreakType.MissingEvent, null, null, $"No row for seq {seq}; {why}.");
        }
    }

    private void Report(long seq, string? eventId, BreakType type, string? expected, string? actual, string detail)
    {
        _breakCount++;
        if (_breaks.Count < _maxBreaks)
        {
            _breaks.Add(new VerificationBreak(seq, eventId, type, expected, actual, detail));
        }
    }

    private void ThrowIfFinished()
    {
        if (_finished)
        {
            throw new InvalidOperationException("The verifier has finished.");
        }
    }

    private static bool Same(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => a.SequenceEqual(b);

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    /// <summary>The chain state after one row: the value the row stands for and, when tracks parted, the other one.</summary>
    private sealed class ChainState(long innerSeq, byte[]? primary, byte[]? alternate)
    {
        public long InnerSeq { get; } = innerSeq;

        public byte[]? Primary { get; } = primary;

        public byte[]? Alternate { get; set; } = alternate;
    }
}
