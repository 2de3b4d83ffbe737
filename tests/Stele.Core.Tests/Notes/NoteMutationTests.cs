using Stele.Core.Notes;

namespace Stele.Core.Tests.Notes;

/// <summary>
/// Systematic mutations of published notes: every single-byte change must make parsing or
/// verification fail. Success means "opens with every expected signature verified", the policy
/// of a client that requires all its known keys (for example a witness quorum of N of N).
/// </summary>
public sealed class NoteMutationTests
{
    public static TheoryData<string, string[]> PublishedNotes() => new()
    {
        { "spec-examples/signed-note-example.note", ["spec-examples/signed-note-example.vkey"] },
        { "golang-sumdb-note/peter-signed.note", ["golang-sumdb-note/PeterNeumann.vkey"] },
        { "golang-sumdb-note/peter-and-enoch-signed.note", ["golang-sumdb-note/PeterNeumann.vkey", "golang-sumdb-note/EnochRoot.vkey"] },
        { "sum.golang.org/checkpoint-6476701.note", ["sum.golang.org/sum.golang.org.vkey"] },
        { "sum.golang.org/checkpoint-6476701-plus-3-cosigs.note", ["sum.golang.org/sum.golang.org.vkey", "sum.golang.org/cosigner-keys.vkeys"] },
        { "tlog-tiles-example-300/checkpoint", ["tlog-tiles-example-300/log.vkey"] },
    };

    [Theory]
    [MemberData(nameof(PublishedNotes))]
    public void Every_single_byte_change_to_a_published_note_fails_to_open(string notePath, string[] keyPaths)
    {
        var original = NoteTestData.Bytes(notePath.Split('/'));
        var keys = keyPaths.SelectMany(p => NoteTestData.Keys(p.Split('/'))).Select(NoteVerifierKey.Parse).ToList();
        var expected = NoteVerifier.Open(original, keys).VerifiedSignatures.Select(s => s.KeyName).ToList();
        Assert.Equal(keys.Count, expected.Count);

        var successes = new List<string>();
        var tried = 0;
        for (var position = 0; position < original.Length; position++)
        {
            // Low bit, high bit (breaks UTF-8 or makes a new code point), a base64 letter, and removal.
            foreach (var change in new Func<byte, byte?>[] { b => (byte)(b ^ 0x01), b => (byte)(b ^ 0x80), b => b == (byte)'A' ? (byte)'B' : (byte)'A', _ => null })
            {
                var replacement = change(original[position]);
                var mutated = replacement is { } value
                    ? [.. original[..position], value, .. original[(position + 1)..]]
                    : original[..position].Concat(original[(position + 1)..]).ToArray();
                tried++;
                if (OpensLikeTheOriginal(mutated, keys, expected))
                {
                    successes.Add($"position {position}: 0x{original[position]:x2} -> {(replacement is { } r ? $"0x{r:x2}" : "removed")}");
                }
            }
        }

        Assert.True(tried >= 3 * original.Length);
        Assert.Empty(successes);
    }

    private static bool OpensLikeTheOriginal(byte[] note, List<NoteVerifierKey> keys, List<string> expected)
    {
        try
        {
            var opened = NoteVerifier.Open(note, keys);
            return opened.VerifiedSignatures.Select(s => s.KeyName).SequenceEqual(expected);
        }
        catch (NoteFormatException)
        {
            return false;
        }
        catch (NoteVerificationException)
        {
            return false;
        }
    }
}
