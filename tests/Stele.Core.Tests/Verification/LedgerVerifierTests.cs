using System.Security.Cryptography;
using Stele.Core.Events;
using Stele.Core.Merkle;
using Stele.Core.Verification;
using static Stele.Core.Tests.Verification.GenuineLedger;

namespace Stele.Core.Tests.Verification;

public sealed class LedgerVerifierTests
{
    private const int Count = 300;
    private static readonly int[] CheckpointSizes = [1, 50, 128, 200, 256, 300];
    private static readonly GenuineLedger Genuine = Build(Count, CheckpointSizes);

    private static (long Seq, BreakType Type)[] Kinds(VerificationReport report) =>
        report.Breaks.Select(b => (b.Seq, b.Type)).ToArray();

    private static byte[] Flip(ReadOnlyMemory<byte> bytes, int index)
    {
        var copy = bytes.ToArray();
        copy[index] ^= 0x01;
        return copy;
    }

    [Fact]
    public void A_genuine_ledger_verifies_clean_from_the_database()
    {
        var report = Verify(Genuine.DatabaseRows(), Genuine.Checkpoints, Count);

        Assert.True(report.IsValid, string.Join("\n", report.Breaks));
        Assert.Empty(report.Breaks);
        Assert.Equal(Count, report.EventsChecked);
        Assert.Equal(0, report.FirstSeq);
        Assert.Equal(Count, report.EndSeq);
        Assert.Equal(0, report.PayloadsErased);
        Assert.Equal(CheckpointSizes.Length, report.CheckpointsChecked);
        Assert.Equal(0, report.CheckpointsNotCompared);
        Assert.Equal(Convert.ToHexStringLower(Genuine.Ranges[Count].Root()), report.RootHash);
        Assert.Equal(Convert.ToHexStringLower(Genuine.Chain[^1]), report.ChainHead);
        Assert.Equal(GenuineLedger.Name, report.Ledger);
    }

    [Fact]
    public void A_genuine_ledger_verifies_clean_from_tiles_without_chain_hashes()
    {
        var report = Verify(Genuine.TileRows(), Genuine.Checkpoints, Count);

        Assert.True(report.IsValid, string.Join("\n", report.Breaks));
        Assert.Equal(Count, report.PayloadsErased);
        Assert.Equal(Convert.ToHexStringLower(Genuine.Chain[^1]), report.ChainHead);
    }

    [Fact]
    public void Erasing_payloads_keeps_the_ledger_valid()
    {
        var rows = Genuine.DatabaseRows().Select(r => r.Seq % 7 == 3 ? r with { Payload = null } : r).ToList();

        var report = Verify(rows, Genuine.Checkpoints, Count);

        Assert.True(report.IsValid);
        Assert.Equal(rows.Count(r => r.Payload is null), report.PayloadsErased);
    }

    [Fact]
    public void A_changed_leaf_byte_is_one_leaf_mismatch_at_its_seq()
    {
        var rows = Genuine.DatabaseRows();
        rows[123] = rows[123] with { Leaf = Flip(rows[123].Leaf, 40) };

        var report = Verify(rows, Genuine.Checkpoints, Count);

        Assert.Equal([(123L, BreakType.LeafMismatch)], Kinds(report));
        var b = report.Breaks[0];
        Assert.Equal(Convert.ToHexStringLower(Genuine.Events[123].LeafHash), b.ExpectedHash);
        Assert.Equal(Convert.ToHexStringLower(MerkleHash.Leaf(rows[123].Leaf.Span)), b.ActualHash);
        // The stored leaf hash carried the tree and the chain on: the root still matches.
        Assert.Equal(Convert.ToHexStringLower(Genuine.Ranges[Count].Root()), report.RootHash);
    }

    [Fact]
    public void A_changed_payload_byte_is_one_payload_mismatch_at_its_seq()
    {
        var rows = Genuine.DatabaseRows();
        rows[77] = rows[77] with { Payload = Flip(rows[77].Payload!.Value, 20) };

        var report = Verify(rows, Genuine.Checkpoints, Count);

        Assert.Equal([(77L, BreakType.PayloadMismatch)], Kinds(report));
        Assert.Equal(Convert.ToHexStringLower(Genuine.Events[77].PayloadDigest), report.Breaks[0].ExpectedHash);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(rows[77].Payload!.Value.Span)), report.Breaks[0].ActualHash);
        Assert.NotNull(report.Breaks[0].EventId);
        Assert.True(EventId.IsValid(report.Breaks[0].EventId));
    }

    [Theory]
    [InlineData(150)]
    [InlineData(199)]
    [InlineData(0)]
    [InlineData(299)]
    public void A_changed_stored_chain_hash_is_one_chain_break_at_its_seq(int seq)
    {
        var rows = Genuine.DatabaseRows();
        rows[seq] = rows[seq] with { StoredChainHash = Flip(rows[seq].StoredChainHash!, 5) };

        var report = Verify(rows, Genuine.Checkpoints, Count);

        Assert.Equal([((long)seq, BreakType.ChainBreak)], Kinds(report));
        Assert.Equal(Convert.ToHexStringLower(Genuine.Chain[seq]), report.Breaks[0].ExpectedHash);
        Assert.Equal(Convert.ToHexStringLower(rows[seq].StoredChainHash!), report.Breaks[0].ActualHash);
    }

    [Fact]
    public void A_deleted_entry_is_one_missing_event_and_later_roots_are_not_compared()
    {
        var rows = Genuine.DatabaseRows();
        rows.RemoveAt(100);

        var report = Verify(rows, Genuine.Checkpoints, Count);

        Assert.Equal([(100L, BreakType.MissingEvent)], Kinds(report));
        Assert.Equal(4, report.CheckpointsNotCompared);
        Assert.Null(report.RootHash);
        Assert.Equal(Count - 1, report.EventsChecked);
    }

    [Fact]
    public void An_inserted_entry_that_shifts_later_rows_is_reported_where_the_shift_shows()
    {
        var rows = Genuine.DatabaseRows();
        // A forger with database access writes a well-formed event at seq 120 with consistent stored
        // hashes and renumbers the rows after it.
        var forged = Encode(120, new DateTimeOffset(2026, 11, 22, 0, 0, 0, TimeSpan.Zero), actor: "intruder_");
        var forgedRow = new LedgerEntry(120, forged.Leaf, forged.Payload, forged.LeafHash, ChainHash.Next(Genuine.Chain[119], forged.LeafHash));
        var shifted = rows.Take(120).Append(forgedRow).Concat(rows.Skip(120).Select(r => r with { Seq = r.Seq + 1 })).ToList();

        var report = Verify(shifted, Genuine.Checkpoints, Count + 1);

        // Seq 121 holds the leaf that says 120, right after the intruder that also says 120; then the
        // first checkpoint past it shows both the tree and the chain head differ. Nothing more.
        Assert.Equal(
            [(121L, BreakType.ChainBreak), (127L, BreakType.RootMismatch), (127L, BreakType.ChainBreak)],
            Kinds(report));
        Assert.Contains("says seq 120", report.Breaks[0].Detail, StringComparison.Ordinal);
        Assert.Equal(3, report.CheckpointsNotCompared);
    }

    [Fact]
    public void Two_swapped_entries_are_two_chain_breaks_and_one_root_mismatch()
    {
        var rows = Genuine.DatabaseRows();
        (rows[60], rows[61]) = (rows[61] with { Seq = 60 }, rows[60] with { Seq = 61 });

        var report = Verify(rows, Genuine.Checkpoints, Count);

        Assert.Equal(
            [(60L, BreakType.ChainBreak), (61L, BreakType.ChainBreak), (127L, BreakType.RootMismatch)],
            Kinds(report));
        Assert.Contains("says seq 61", report.Breaks[0].Detail, StringComparison.Ordinal);
        Assert.Contains("says seq 60", report.Breaks[1].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_forged_leaf_with_a_recomputed_leaf_hash_breaks_the_chain_at_its_seq()
    {
        var rows = Genuine.DatabaseRows();
        var forged = ForgeLeaf(210);
        rows[210] = rows[210] with { Leaf = forged, StoredLeafHash = MerkleHash.Leaf(forged) };

        var report = Verify(rows, Genuine.Checkpoints, Count);

        Assert.Equal([(210L, BreakType.ChainBreak), (255L, BreakType.RootMismatch)], Kinds(report));
        Assert.Equal(1, report.CheckpointsNotCompared);
    }

    [Fact]
    public void A_forged_leaf_with_a_rewritten_chain_tail_is_caught_by_the_next_checkpoint_only_once()
    {
        var rows = Genuine.DatabaseRows();
        var forged = ForgeLeaf(210);
        rows[210] = rows[210] with { Leaf = forged, StoredLeafHash = MerkleHash.Leaf(forged) };
        var previous = Genuine.Chain[209];
        for (var i = 210; i < Count; i++)
        {
            previous = ChainHash.Next(previous, rows[i].StoredLeafHash!);
            rows[i] = rows[i] with { StoredChainHash = previous };
        }

        var report = Verify(rows, Genuine.Checkpoints, Count);

        Assert.Equal([(255L, BreakType.RootMismatch), (255L, BreakType.ChainBreak)], Kinds(report));
        Assert.Equal(Convert.ToHexStringLower(Genuine.Chain[255]), report.Breaks[1].ExpectedHash);
    }

    [Fact]
    public void A_checkpoint_with_a_wrong_root_is_one_root_mismatch_and_later_checkpoints_still_count()
    {
        var checkpoints = Genuine.Checkpoints.Select(c => c.Size == 128 ? c with { RootHash = Genuine.Ranges[127].Root() } : c);

        var report = Verify(Genuine.DatabaseRows(), checkpoints, Count);

        Assert.Equal([(127L, BreakType.RootMismatch)], Kinds(report));
        Assert.Equal(Convert.ToHexStringLower(Genuine.Ranges[127].Root()), report.Breaks[0].ExpectedHash);
        Assert.Equal(Convert.ToHexStringLower(Genuine.Ranges[128].Root()), report.Breaks[0].ActualHash);
        Assert.Equal(0, report.CheckpointsNotCompared);
    }

    [Fact]
    public void A_checkpoint_with_a_wrong_chain_line_is_one_chain_break_naming_it()
    {
        var checkpoints = Genuine.Checkpoints.Select(c => c.Size == 200 ? c with { ChainHash = Genuine.Chain[198] } : c);

        var report = Verify(Genuine.DatabaseRows(), checkpoints, Count);

        Assert.Equal([(199L, BreakType.ChainBreak)], Kinds(report));
        Assert.Contains("checkpoint@200", report.Breaks[0].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_checkpoint_with_a_bad_signature_is_inconsistent_and_not_trusted()
    {
        // Its root is wrong too: an unsigned claim must not produce a root_mismatch.
        var checkpoints = Genuine.Checkpoints.Select(c => c.Size == 256 ? c with { SignatureValid = false, RootHash = new byte[32] } : c);

        var report = Verify(Genuine.DatabaseRows(), checkpoints, Count);

        Assert.Equal([(255L, BreakType.CheckpointInconsistent)], Kinds(report));
    }

    [Fact]
    public void Two_signed_checkpoints_of_one_size_with_different_roots_are_inconsistent()
    {
        var forged = new CheckpointClaim(200, Genuine.Ranges[199].Root(), Genuine.Chain[199], true, "mirror");

        var report = Verify(Genuine.DatabaseRows(), Genuine.Checkpoints.Append(forged), Count);

        Assert.Equal([(199L, BreakType.CheckpointInconsistent), (199L, BreakType.RootMismatch)], Kinds(report));
        Assert.Contains("mirror", report.Breaks[0].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_tail_is_missing_events_and_an_inconsistent_checkpoint()
    {
        var rows = Genuine.DatabaseRows().Take(290);

        var report = Verify(rows, Genuine.Checkpoints, expectedSize: null);

        var expected = Enumerable.Range(290, 10).Select(s => ((long)s, BreakType.MissingEvent))
            .Append((299L, BreakType.CheckpointInconsistent));
        Assert.Equal(expected, Kinds(report));
        Assert.Equal(Count, report.EndSeq);
        Assert.Null(report.RootHash);
    }

    [Fact]
    public void A_truncated_tail_without_checkpoints_is_caught_by_the_expected_size()
    {
        var rows = Genuine.DatabaseRows().Take(298);

        var report = Verify(rows, Genuine.Checkpoints.Where(c => c.Size <= 298), expectedSize: Count);

        Assert.Equal([(298L, BreakType.MissingEvent), (299L, BreakType.MissingEvent)], Kinds(report));
    }

    [Fact]
    public void Several_independent_tamperings_are_all_reported()
    {
        var rows = Genuine.DatabaseRows();
        rows[10] = rows[10] with { Leaf = Flip(rows[10].Leaf, 30) };
        rows[20] = rows[20] with { Payload = Flip(rows[20].Payload!.Value, 15) };
        rows[30] = rows[30] with { StoredChainHash = Flip(rows[30].StoredChainHash!, 0) };
        rows.RemoveAt(280);
        var checkpoints = Genuine.Checkpoints.Select(c => c.Size == 128 ? c with { SignatureValid = false } : c);

        var report = Verify(rows, checkpoints, Count);

        Assert.Equal(
            [
                (10L, BreakType.LeafMismatch),
                (20L, BreakType.PayloadMismatch),
                (30L, BreakType.ChainBreak),
                (127L, BreakType.CheckpointInconsistent),
                (280L, BreakType.MissingEvent),
            ],
            Kinds(report));
        Assert.False(report.IsValid);
        Assert.Equal(5, report.BreakCount);
    }

    [Fact]
    public void A_leaf_from_another_ledger_is_a_chain_break_naming_the_ledger()
    {
        var other = Build(5);
        var rows = Genuine.DatabaseRows().Take(5).ToList();
        var foreign = EventEncoderV1.Encode(
            EventLeafV1.Parse(other.Events[3].Leaf).ToRecord(EventPayloadV1.Parse(other.Events[3].Payload)),
            "globex", 3, "evt_01JDQ4Z8K9M2N3P4Q5R6S7T8V9", DateTimeOffset.UnixEpoch, new byte[32]);
        rows[3] = rows[3] with { Leaf = foreign.Leaf, Payload = foreign.Payload, StoredLeafHash = foreign.LeafHash };

        var report = Verify(rows, [], 5);

        // One break: the wrong ledger and the chain link that no longer follows are named together.
        Assert.Equal([(3L, BreakType.ChainBreak)], Kinds(report));
        Assert.Contains("\"globex\"", report.Breaks[0].Detail, StringComparison.Ordinal);
        Assert.Contains("chain hash does not follow", report.Breaks[0].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unparseable_leaf_whose_hash_was_recomputed_is_a_leaf_mismatch()
    {
        var rows = Genuine.TileRows().Take(50).ToList();
        byte[] garbage = [.. "{\"v\":1}"u8];
        rows[7] = rows[7] with { Leaf = garbage, StoredLeafHash = MerkleHash.Leaf(garbage) };

        var report = Verify(rows, Genuine.Checkpoints.Where(c => c.Size <= 50), 50);

        Assert.Equal(
            [(7L, BreakType.LeafMismatch), (49L, BreakType.RootMismatch), (49L, BreakType.ChainBreak)],
            Kinds(report));
        Assert.Contains(EventFormatException.MissingMember, report.Breaks[0].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_huge_gap_lists_breaks_up_to_the_cap_and_counts_them_all()
    {
        var verifier = new LedgerVerifier(GenuineLedger.Name, maxBreaks: 5);
        var rows = Genuine.DatabaseRows();

        var report = Verify([.. rows.Take(10), rows[10] with { Seq = 1_000_000 }], [], null, verifier);

        // 999,990 missing seqs, plus the moved row itself: its leaf says seq 10, not 1,000,000.
        Assert.Equal(1_000_000 - 10 + 1, report.BreakCount);
        Assert.Equal(5, report.Breaks.Count);
        Assert.True(report.BreaksTruncated);
        Assert.All(report.Breaks, b => Assert.Equal(BreakType.MissingEvent, b.Type));
        Assert.Equal(11, report.EventsChecked);
    }

    [Fact]
    public void A_range_can_be_verified_from_a_saved_tree_state_and_chain_hash()
    {
        var verifier = LedgerVerifier.StartingAt(GenuineLedger.Name, Genuine.Ranges[128], Genuine.Chain[127]);
        var rows = Genuine.DatabaseRows().Skip(128);

        var report = Verify(rows, Genuine.Checkpoints.Where(c => c.Size >= 128), Count, verifier);

        Assert.True(report.IsValid, string.Join("\n", report.Breaks));
        Assert.Equal(128, report.FirstSeq);
        Assert.Equal(Count - 128, report.EventsChecked);
        Assert.Equal(4, report.CheckpointsChecked);
        Assert.Equal(Convert.ToHexStringLower(Genuine.Ranges[Count].Root()), report.RootHash);
    }

    [Fact]
    public void A_range_verification_finds_a_tampering_inside_the_range()
    {
        var verifier = LedgerVerifier.StartingAt(GenuineLedger.Name, Genuine.Ranges[200], Genuine.Chain[199]);
        var rows = Genuine.DatabaseRows().Skip(200).ToList();
        rows[33] = rows[33] with { Payload = Flip(rows[33].Payload!.Value, 3) };

        var report = Verify(rows, Genuine.Checkpoints.Where(c => c.Size >= 200), Count, verifier);

        Assert.Equal([(233L, BreakType.PayloadMismatch)], Kinds(report));
    }

    [Fact]
    public void A_checkpoint_the_verifier_already_passed_is_refused()
    {
        var verifier = new LedgerVerifier(GenuineLedger.Name);
        foreach (var row in Genuine.DatabaseRows().Take(60))
        {
            verifier.Add(row);
        }

        Assert.Equal(60, verifier.EventsChecked);
        Assert.Equal(60, verifier.NextSeq);
        Assert.Throws<ArgumentException>(() => verifier.AddCheckpoint(Genuine.Checkpoints.Single(c => c.Size == 50)));
    }

    [Fact]
    public void A_duplicated_row_is_one_chain_break_and_is_left_out_of_the_tree()
    {
        var rows = Genuine.DatabaseRows();
        rows.Insert(41, rows[40]);

        var report = Verify(rows, Genuine.Checkpoints, Count);

        Assert.Equal([(40L, BreakType.ChainBreak)], Kinds(report));
        Assert.Equal(Convert.ToHexStringLower(Genuine.Ranges[Count].Root()), report.RootHash);
    }

    [Fact]
    public void Break_types_have_stable_wire_names()
    {
        Assert.Equal(
            ["leaf_mismatch", "payload_mismatch", "chain_break", "root_mismatch", "missing_event", "checkpoint_inconsistent"],
            Enum.GetValues<BreakType>().Select(t => t.ToWireName()));
        Assert.True(BreakTypeNames.TryParse("chain_break", out var parsed));
        Assert.Equal(BreakType.ChainBreak, parsed);
        Assert.False(BreakTypeNames.TryParse("ChainBreak", out _));
    }

    private static byte[] ForgeLeaf(int seq)
    {
        var leaf = EventLeafV1.Parse(Genuine.Events[seq].Leaf);
        var forged = new DecodedLeaf
        {
            Ledger = leaf.Ledger,
            Seq = leaf.Seq,
            Id = leaf.Id,
            ReceivedAt = leaf.ReceivedAt,
            OccurredAt = leaf.OccurredAt,
            ActorId = "someone_else",
            Action = leaf.Action,
            Resource = leaf.Resource,
            ResourceId = leaf.ResourceId,
            Targets = leaf.Targets,
            Outcome = leaf.Outcome,
            PayloadDigest = leaf.PayloadDigest,
        };
        return EventLeafV1.Write(forged);
    }
}
