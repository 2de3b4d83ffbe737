using System.Globalization;
using System.Text.Json;
using Stele.Core.Merkle;

namespace Stele.Core.Tests.Merkle;

/// <summary>
/// Every golden probe from transparency-dev/merkle testdata/ (inclusion, consistency, subtree
/// inclusion, subtree consistency), one test case per file. wantErr probes must fail; the others
/// must verify and, where they belong to the 8-leaf reference tree, match the proofs Stele generates.
/// </summary>
public sealed class GoldenProofTests
{
    private static readonly string GoldenRoot = SharedTestData.Path("merkle", "transparency-dev-merkle", "testdata");

    private static readonly Lazy<InMemoryMerkleTree> ReferenceTree = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(SharedTestData.Path("merkle", "rfc6962-8leaf-reference.json")));
        return TestTrees.Build(doc.RootElement.GetProperty("leafHashes").EnumerateArray().Select(e => Convert.FromHexString(e.GetString()!)));
    });

    public static TheoryData<string> InclusionFiles() => Files("inclusion");

    public static TheoryData<string> ConsistencyFiles() => Files("consistency");

    public static TheoryData<string> SubtreeInclusionFiles() => Files("subtreeinclusion");

    public static TheoryData<string> SubtreeConsistencyFiles() => Files("subtreeconsistency");

    [Fact]
    public void The_golden_corpus_is_complete()
    {
        Assert.Equal(98, InclusionFiles().Count);
        Assert.Equal(98, ConsistencyFiles().Count);
        Assert.Equal(204, SubtreeInclusionFiles().Count);
        Assert.Equal(118, SubtreeConsistencyFiles().Count);
    }

    [Theory]
    [MemberData(nameof(InclusionFiles))]
    public void Golden_inclusion_probe_verifies_exactly_when_expected(string file)
    {
        using var doc = Load(file);
        var p = doc.RootElement;
        long index = Number(p, "leafIdx"), size = Number(p, "treeSize");
        var proof = Proof(p);
        var check = MerkleProofs.VerifyInclusion(index, size, Hash(p, "leafHash"), proof, Hash(p, "root"));
        AssertOutcome(p, check);

        if (check.IsValid && size <= 8 && Hash(p, "root").AsSpan().SequenceEqual(ReferenceTree.Value.Root(size)))
        {
            Assert.Equal(TestTrees.Hex(proof), TestTrees.Hex(MerkleProofs.Inclusion(index, size, ReferenceTree.Value)));
        }
    }

    [Theory]
    [MemberData(nameof(ConsistencyFiles))]
    public void Golden_consistency_probe_verifies_exactly_when_expected(string file)
    {
        using var doc = Load(file);
        var p = doc.RootElement;
        long size1 = Number(p, "size1"), size2 = Number(p, "size2");
        var proof = Proof(p);
        var check = MerkleProofs.VerifyConsistency(size1, size2, Hash(p, "root1"), Hash(p, "root2"), proof);
        AssertOutcome(p, check);

        if (check.IsValid && size2 <= 8 && Hash(p, "root2").AsSpan().SequenceEqual(ReferenceTree.Value.Root(size2)))
        {
            Assert.Equal(TestTrees.Hex(proof), TestTrees.Hex(MerkleProofs.Consistency(size1, size2, ReferenceTree.Value)));
        }
    }

    [Theory]
    [MemberData(nameof(SubtreeInclusionFiles))]
    public void Golden_subtree_inclusion_probe_verifies_exactly_when_expected(string file)
    {
        using var doc = Load(file);
        var p = doc.RootElement;
        var check = MerkleProofs.VerifySubtreeInclusion(
            Number(p, "leafIdx"), Number(p, "start"), Number(p, "end"), Hash(p, "leafHash"), Proof(p), Hash(p, "root"));
        AssertOutcome(p, check);
    }

    [Theory]
    [MemberData(nameof(SubtreeConsistencyFiles))]
    public void Golden_subtree_consistency_probe_verifies_exactly_when_expected(string file)
    {
        using var doc = Load(file);
        var p = doc.RootElement;
        var check = MerkleProofs.VerifySubtreeConsistency(
            Number(p, "start"), Number(p, "end"), Number(p, "size"), Hash(p, "root1"), Hash(p, "root2"), Proof(p));
        AssertOutcome(p, check);
    }

    private static TheoryData<string> Files(string kind)
    {
        var data = new TheoryData<string>();
        var dir = Path.Combine(GoldenRoot, kind);
        foreach (var file in Directory.EnumerateFiles(dir, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(GoldenRoot, file).Replace('\\', '/'));
        }

        return data;
    }

    private static JsonDocument Load(string file) => JsonDocument.Parse(File.ReadAllText(Path.Combine(GoldenRoot, file)));

    private static void AssertOutcome(JsonElement probe, ProofCheck check)
    {
        var wantErr = probe.GetProperty("wantErr").GetBoolean();
        Assert.True(
            check.IsValid != wantErr,
            $"{probe.GetProperty("desc").GetString()}: wantErr={wantErr} but the check gave {check}");
        if (!check.IsValid)
        {
            Assert.NotEqual(ProofFailure.None, check.Failure);
            Assert.False(string.IsNullOrWhiteSpace(check.Message));
        }
    }

    // Upstream sizes are uint64; values beyond long.MaxValue (and wrapped "-1" values) become negative
    // here, which every verifier rejects as it would reject the original.
    private static long Number(JsonElement probe, string name) =>
        unchecked((long)ulong.Parse(probe.GetProperty(name).GetRawText(), CultureInfo.InvariantCulture));

    private static byte[] Hash(JsonElement probe, string name) => Convert.FromBase64String(probe.GetProperty(name).GetString() ?? string.Empty);

    private static byte[][] Proof(JsonElement probe)
    {
        var proof = probe.GetProperty("proof");
        return proof.ValueKind == JsonValueKind.Null
            ? []
            : [.. proof.EnumerateArray().Select(e => Convert.FromBase64String(e.GetString() ?? string.Empty))];
    }
}
