using System.Text;
using System.Text.Json.Nodes;
using Stele.Cli;
using Stele.Cli.Bundles;
using Stele.Core.Checkpoints;
using Stele.Core.Notes;
using Stele.Server.Integrity;

namespace Stele.Server.Tests;

public sealed class ExportBundleVerificationTests(ExportBundleFixture fixture) : IClassFixture<ExportBundleFixture>
{
    // Line 0 is the checkpoint, lines 1..50 the events (newest first), line 51 the end.
    private const int Target = 17;

    private async Task<BundleReport> VerifyAsync(IEnumerable<string> lines, NoteVerifierKey? key = null)
    {
        var path = Path.Combine(fixture.Server.DataDirectory, $"bundle-{Guid.NewGuid():N}.jsonl");
        await File.WriteAllTextAsync(path, string.Join('\n', lines) + "\n");
        return await new BundleVerifier(key ?? fixture.VerifierKey).VerifyFileAsync(path, null, CancellationToken.None);
    }

    private (string Id, long Seq) EventAt(int line)
    {
        var e = JsonNode.Parse(fixture.Lines[line])!["event"]!;
        return (e["id"]!.GetValue<string>(), e["seq"]!.GetValue<long>());
    }

    private string[] Mutate(int line, Action<JsonNode> change)
    {
        var lines = (string[])fixture.Lines.Clone();
        var node = JsonNode.Parse(lines[line])!;
        change(node);
        lines[line] = node.ToJsonString();
        return lines;
    }

    private static void AssertNames(BundleReport report, string type, string id, long seq)
    {
        Assert.False(report.IsValid);
        Assert.Contains(report.Failures, f => f.Type == type && f.EventId == id && f.Seq == seq);
    }

    [Fact]
    public async Task A_genuine_bundle_verifies_offline()
    {
        Assert.Equal(52, fixture.Lines.Length);
        var report = await VerifyAsync(fixture.Lines);
        Assert.True(report.IsValid, string.Join('\n', report.Failures));
        Assert.Equal(50, report.EventsChecked);
        Assert.Equal(50, report.TreeSize);
    }

    [Fact]
    public async Task A_genuine_gzip_bundle_verifies_through_the_stele_command_and_exits_0()
    {
        var path = Path.Combine(fixture.Server.DataDirectory, $"bundle-{Guid.NewGuid():N}.jsonl.gz");
        await File.WriteAllBytesAsync(path, fixture.GzipBundle);
        Assert.Equal(0, await Cli.Cli.RunAsync(["verify", path, "--key", fixture.VerifierKey.Format(), "--quiet"]));

        var tampered = (byte[])fixture.GzipBundle.Clone();
        tampered[tampered.Length / 2] ^= 0x01;
        await File.WriteAllBytesAsync(path, tampered);
        Assert.NotEqual(0, await Cli.Cli.RunAsync(["verify", path, "--key", fixture.VerifierKey.Format(), "--quiet"]));
    }

    [Theory]
    [InlineData("actor_id")]
    [InlineData("actor_name")]
    [InlineData("action")]
    [InlineData("received_at")]
    public async Task A_changed_field_fails_naming_the_event(string field)
    {
        var (id, seq) = EventAt(Target);
        var report = await VerifyAsync(Mutate(Target, n => n["event"]![field] = "tampered.value"));
        AssertNames(report, "field_mismatch", id, seq);
        Assert.Single(report.Failures);
    }

    [Fact]
    public async Task A_changed_payload_byte_fails_naming_the_event()
    {
        var (id, seq) = EventAt(Target);
        var report = await VerifyAsync(Mutate(Target, n =>
        {
            var payload = Convert.FromBase64String(n["payload"]!.GetValue<string>());
            payload[payload.Length - 5] ^= 0x01;
            n["payload"] = Convert.ToBase64String(payload);
        }));
        AssertNames(report, "payload_mismatch", id, seq);
    }

    [Fact]
    public async Task A_changed_leaf_byte_fails_naming_the_event()
    {
        var (id, seq) = EventAt(Target);
        var report = await VerifyAsync(Mutate(Target, n =>
        {
            var leaf = Encoding.UTF8.GetString(Convert.FromBase64String(n["leaf"]!.GetValue<string>())).Replace("user_", "usex_", StringComparison.Ordinal);
            n["leaf"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(leaf));
        }));
        AssertNames(report, "root_mismatch", id, seq);
    }

    [Fact]
    public async Task A_changed_proof_hash_fails_naming_the_event()
    {
        var (id, seq) = EventAt(Target);
        var report = await VerifyAsync(Mutate(Target, n =>
        {
            var hashes = n["inclusion_proof"]!["hashes"]!.AsArray();
            var hash = hashes[0]!.GetValue<string>();
            hashes[0] = (hash[0] == '0' ? "1" : "0") + hash[1..];
        }));
        AssertNames(report, "root_mismatch", id, seq);
        Assert.Single(report.Failures);
    }

    [Fact]
    public async Task A_changed_checkpoint_fails()
    {
        var report = await VerifyAsync(Mutate(0, n =>
        {
            var note = n["signed_note"]!.GetValue<string>();
            n["signed_note"] = note.Replace("\n50\n", "\n49\n", StringComparison.Ordinal);
        }));
        Assert.False(report.IsValid);
        Assert.Contains(report.Failures, f => f.Type == "checkpoint_inconsistent" && f.Line == 1);
    }

    [Fact]
    public async Task A_checkpoint_signed_by_another_key_fails()
    {
        var genuine = JsonNode.Parse(fixture.Lines[0])!["signed_note"]!.GetValue<string>();
        var checkpoint = Checkpoint.Parse(SignedNote.Parse(Encoding.UTF8.GetBytes(genuine)).Text);
        var otherDirectory = Path.Combine(fixture.Server.DataDirectory, "other-key");
        var other = InstanceKey.Load(otherDirectory, "test.stele", signingKeyFile: null, signingKeyText: null);
        var forged = Encoding.UTF8.GetString(other.Signer.Sign(checkpoint));

        var report = await VerifyAsync(Mutate(0, n => n["signed_note"] = forged));
        Assert.False(report.IsValid);
        Assert.Contains(report.Failures, f => f.Type == "checkpoint_inconsistent");

        // The same bundle verifies with the other key: only the key decides.
        var withOtherKey = await VerifyAsync(Mutate(0, n => n["signed_note"] = forged), other.SignerKey.VerifierKey);
        Assert.True(withOtherKey.IsValid, string.Join('\n', withOtherKey.Failures));
    }

    [Fact]
    public async Task A_removed_row_fails_naming_the_missing_seq()
    {
        var (_, seq) = EventAt(Target);
        var lines = fixture.Lines.Where((_, i) => i != Target).ToArray();
        var report = await VerifyAsync(lines);
        Assert.False(report.IsValid);
        Assert.Contains(report.Failures, f => f.Type == "missing_event" && f.Detail.Contains($"seq {seq} was removed", StringComparison.Ordinal));
        Assert.Contains(report.Failures, f => f.Type == "missing_event" && f.Detail.Contains("counts 50 events, the bundle holds 49", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_removed_last_row_or_end_line_fails()
    {
        var withoutLastEvent = fixture.Lines.Where((_, i) => i != 50).ToArray();
        Assert.False((await VerifyAsync(withoutLastEvent)).IsValid);
        var truncated = fixture.Lines[..^1];
        var report = await VerifyAsync(truncated);
        Assert.Contains(report.Failures, f => f.Type == "missing_event" && f.Detail.Contains("no end line", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Two_swapped_rows_fail_naming_the_events()
    {
        var (firstId, firstSeq) = EventAt(Target);
        var lines = (string[])fixture.Lines.Clone();
        (lines[Target], lines[Target + 1]) = (lines[Target + 1], lines[Target]);
        var report = await VerifyAsync(lines);
        Assert.False(report.IsValid);
        AssertNames(report, "order_mismatch", firstId, firstSeq);
    }

    [Fact]
    public async Task An_unfiltered_bundle_with_a_removed_row_and_patched_links_still_fails()
    {
        // Drop the last event (seq 0) and fix up the end line: only the checkpoint's size gives it away.
        var lines = fixture.Lines.Where((_, i) => i != 50).ToArray();
        var end = JsonNode.Parse(lines[^1])!;
        var kept = lines[1..^1].Select(l => JsonNode.Parse(l)!["event"]!["seq"]!.GetValue<long>()).ToArray();
        var digest = System.Security.Cryptography.SHA256.HashData(kept.SelectMany(s => BitConverter.GetBytes(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(s))).ToArray());
        end["event_count"] = kept.Length;
        end["last_seq"] = kept[^1];
        end["seqs_sha256"] = Convert.ToHexStringLower(digest);
        lines[^1] = end.ToJsonString();

        var report = await VerifyAsync(lines);
        Assert.True(report.Unfiltered);
        Assert.Single(report.Failures);
        Assert.Contains("must hold all 50 events", report.Failures[0].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_duplicated_row_fails()
    {
        var lines = fixture.Lines.ToList();
        lines.Insert(Target, fixture.Lines[Target]);
        Assert.False((await VerifyAsync(lines)).IsValid);
    }

    [Fact]
    public async Task A_plain_export_without_proofs_is_not_accepted_as_a_bundle()
    {
        var lines = fixture.Lines[1..^1].Select(l => JsonNode.Parse(l)!["event"]!.ToJsonString());
        var report = await VerifyAsync(lines);
        Assert.False(report.IsValid);
        Assert.Contains(report.Failures, f => f.Type == "checkpoint_inconsistent");
    }
}
