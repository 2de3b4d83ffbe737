using System.Text.Json;
using Stele.Core.Checkpoints;
using Stele.Core.Notes;
using Stele.Core.Tests.Notes;

namespace Stele.Core.Tests.Checkpoints;

public sealed class CheckpointParsingTests
{
    private const string Root32 = "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=";

    // checkpointBodies.valid comes from the lenient transparency-dev/formats parser. Stele's parser
    // is strict C2SP: 6 of the 7 bodies have root hashes that are not 32 bytes ("bananas" is 7,
    // "the view from the tree tops is great!" 37, "it's a root hash" 16), and one also has empty
    // extension lines. Index → the code Stele raises; absent means Stele accepts the body as is.
    private static readonly Dictionary<int, string> StrictRejections = new()
    {
        [0] = CheckpointFormatException.InvalidRootHashCode,
        [1] = CheckpointFormatException.InvalidRootHashCode,
        [2] = CheckpointFormatException.InvalidRootHashCode,
        [3] = CheckpointFormatException.InvalidRootHashCode,
        [4] = CheckpointFormatException.InvalidRootHashCode,
        [5] = CheckpointFormatException.InvalidRootHashCode,
    };

    public static TheoryData<int> ValidBodyIndexes() => Indexes("valid");

    public static TheoryData<int> InvalidBodyIndexes() => Indexes("invalid");

    [Fact]
    public void Stele_accepts_exactly_the_one_lenient_valid_body_with_a_32_byte_root()
    {
        var count = Bodies("valid").Count();
        Assert.Equal(7, count);
        Assert.Equal(count - 1, StrictRejections.Count);
    }

    [Theory]
    [MemberData(nameof(ValidBodyIndexes))]
    public void Lenient_valid_bodies_parse_strictly_or_are_rejected_for_the_documented_reason(int index)
    {
        var entry = Bodies("valid").ElementAt(index);
        var body = entry.GetProperty("body").GetString()!;
        var origin = entry.GetProperty("origin").GetString()!;
        var size = entry.GetProperty("size").GetInt64();
        var rest = entry.GetProperty("rest").GetString()!;

        if (StrictRejections.TryGetValue(index, out var code))
        {
            Assert.Equal(code, Assert.Throws<CheckpointFormatException>(() => Checkpoint.Parse(body)).Code);

            // With a 32-byte root the rest of the body means what the vector says, except for
            // empty extension lines, which tlog-checkpoint §"Note text" forbids.
            var lines = body.Split('\n');
            lines[2] = Root32;
            var repaired = string.Join('\n', lines);
            if (rest.Split('\n').SkipLast(1).Any(l => l.Length == 0))
            {
                Assert.Equal(CheckpointFormatException.EmptyExtensionLineCode,
                    Assert.Throws<CheckpointFormatException>(() => Checkpoint.Parse(repaired)).Code);
                return;
            }

            body = repaired;
        }

        var checkpoint = Checkpoint.Parse(body);
        Assert.Equal(origin, checkpoint.Origin);
        Assert.Equal(size, checkpoint.Size);
        Assert.Equal(rest, string.Concat(checkpoint.Extensions.Select(l => l + "\n")));
        Assert.Equal(body, checkpoint.Format());
        Assert.Null(checkpoint.ChainHash);
    }

    [Theory]
    [MemberData(nameof(InvalidBodyIndexes))]
    public void Invalid_bodies_are_rejected_with_a_specific_code(int index)
    {
        var entry = Bodies("invalid").ElementAt(index);
        var why = entry.GetProperty("why").GetString()!;
        var expected = why switch
        {
            "insufficient lines" or "missing newline after root hash" => CheckpointFormatException.MalformedCode,
            "empty origin" => CheckpointFormatException.EmptyOriginCode,
            _ when why.StartsWith("size", StringComparison.Ordinal) || why == "negative size" => CheckpointFormatException.InvalidSizeCode,
            _ when why.StartsWith("root hash", StringComparison.Ordinal) => CheckpointFormatException.InvalidRootHashCode,
            _ => throw new InvalidOperationException($"Unclassified vector: {why}"),
        };

        Assert.Equal(expected, Assert.Throws<CheckpointFormatException>(() => Checkpoint.Parse(entry.GetProperty("body").GetString()!)).Code);
    }

    [Theory]
    [InlineData("tlog-checkpoint-behind-the-sofa.checkpoint")]
    [InlineData("tlog-cosignature-behind-the-sofa-cosigned.checkpoint")]
    public void The_spec_example_checkpoints_parse(string file)
    {
        var checkpoint = Checkpoint.Parse(SignedNote.Parse(NoteTestData.Bytes("spec-examples", file)).Text);

        Assert.Equal("example.com/behind-the-sofa", checkpoint.Origin);
        Assert.Equal(20852163, checkpoint.Size);
        Assert.Equal("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=", Convert.ToBase64String(checkpoint.RootHash));
        Assert.Empty(checkpoint.Extensions);
    }

    [Theory]
    [InlineData("Log\n0\n" + Root32 + "\n", 0)]
    [InlineData("Log\n9223372036854775807\n" + Root32 + "\n", long.MaxValue)]
    public void Sizes_from_zero_to_the_largest_long_parse(string body, long size)
    {
        Assert.Equal(size, Checkpoint.Parse(body).Size);
    }

    [Theory]
    [InlineData("Log\n01\n" + Root32 + "\n", CheckpointFormatException.InvalidSizeCode)]
    [InlineData("Log\n00\n" + Root32 + "\n", CheckpointFormatException.InvalidSizeCode)]
    [InlineData("Log\n+1\n" + Root32 + "\n", CheckpointFormatException.InvalidSizeCode)]
    [InlineData("Log\n 1\n" + Root32 + "\n", CheckpointFormatException.InvalidSizeCode)]
    [InlineData("Log\n1 \n" + Root32 + "\n", CheckpointFormatException.InvalidSizeCode)]
    [InlineData("Log\n\n" + Root32 + "\n", CheckpointFormatException.InvalidSizeCode)]
    [InlineData("Log\n١٢\n" + Root32 + "\n", CheckpointFormatException.InvalidSizeCode)]
    [InlineData("Log\n9223372036854775808\n" + Root32 + "\n", CheckpointFormatException.InvalidSizeCode)]
    [InlineData("Log\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb1=\n", CheckpointFormatException.InvalidRootHashCode)]
    [InlineData("Log\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0\n", CheckpointFormatException.InvalidRootHashCode)]
    [InlineData("Log\n1\n TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n", CheckpointFormatException.InvalidRootHashCode)]
    [InlineData("Log\n1\n" + Root32 + "\n\n", CheckpointFormatException.EmptyExtensionLineCode)]
    [InlineData("Log\n1\n" + Root32 + "\nchain\n", CheckpointFormatException.InvalidChainLineCode)]
    [InlineData("Log\n1\n" + Root32 + "\nchain 00\n", CheckpointFormatException.InvalidChainLineCode)]
    [InlineData("Log\n1\n" + Root32 + "\nchain " + "AB00000000000000000000000000000000000000000000000000000000000000" + "\n", CheckpointFormatException.InvalidChainLineCode)]
    [InlineData("Log\n1\n" + Root32 + "\nchain  " + "000000000000000000000000000000000000000000000000000000000000000" + "\n", CheckpointFormatException.InvalidChainLineCode)]
    [InlineData("Log\n1\n" + Root32 + "\nchain " + "0000000000000000000000000000000000000000000000000000000000000000" + "\nchain " + "0000000000000000000000000000000000000000000000000000000000000000" + "\n", CheckpointFormatException.InvalidChainLineCode)]
    [InlineData("Log\r\n1\n" + Root32 + "\n", CheckpointFormatException.InvalidTextCode)]
    [InlineData("", CheckpointFormatException.MalformedCode)]
    [InlineData("\n", CheckpointFormatException.MalformedCode)]
    public void Strict_parsing_rejects_near_misses(string body, string code)
    {
        Assert.Equal(code, Assert.Throws<CheckpointFormatException>(() => Checkpoint.Parse(body)).Code);
    }

    [Fact]
    public void The_chain_line_round_trips_through_format_and_parse()
    {
        var root = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var chain = Enumerable.Range(0, 32).Select(i => (byte)(0xff - i)).ToArray();

        var checkpoint = Checkpoint.Create("stele.example/default", 42, root, chain);
        var body = checkpoint.Format();

        Assert.Equal($"stele.example/default\n42\n{Convert.ToBase64String(root)}\nchain {Convert.ToHexStringLower(chain)}\n", body);
        var parsed = Checkpoint.Parse(body);
        Assert.Equal(checkpoint, parsed);
        Assert.Equal(chain, parsed.ChainHash);
        Assert.Equal(root, parsed.RootHash);
    }

    [Fact]
    public void Other_extension_lines_are_kept_opaque_next_to_the_chain_line()
    {
        var body = "Log\n7\n" + Root32 + "\nfuture extension\nchain " + new string('a', 64) + "\n";
        var checkpoint = Checkpoint.Parse(body);

        Assert.Equal(["future extension", "chain " + new string('a', 64)], checkpoint.Extensions);
        Assert.Equal(Enumerable.Repeat((byte)0xaa, 32).ToArray(), checkpoint.ChainHash);
        Assert.Equal(body, checkpoint.Format());
    }

    [Fact]
    public void Constructing_an_unformattable_checkpoint_is_refused()
    {
        var root = new byte[32];
        Assert.Throws<ArgumentException>(() => new Checkpoint("", 1, root, []));
        Assert.Throws<ArgumentException>(() => new Checkpoint("two\nlines", 1, root, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Checkpoint("Log", -1, root, []));
        Assert.Throws<ArgumentException>(() => new Checkpoint("Log", 1, new byte[31], []));
        Assert.Throws<ArgumentException>(() => new Checkpoint("Log", 1, root, [""]));
        Assert.Throws<ArgumentException>(() => new Checkpoint("Log", 1, root, ["chain xyz"]));
        Assert.Throws<ArgumentException>(() => Checkpoint.Create("Log", 1, root, new byte[31]));
    }

    [Fact]
    public void A_checkpoint_keeps_its_own_copy_of_the_root_hash()
    {
        var root = new byte[32];
        var checkpoint = new Checkpoint("Log", 1, root, []);
        root[0] = 1;
        Assert.Equal(0, checkpoint.RootHash[0]);
    }

    private static IEnumerable<JsonElement> Bodies(string kind) =>
        NoteTestData.Vectors.GetProperty("checkpointBodies").GetProperty(kind).EnumerateArray();

    private static TheoryData<int> Indexes(string kind)
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < Bodies(kind).Count(); i++)
        {
            data.Add(i);
        }

        return data;
    }
}
