using System.Text;
using System.Text.Json;
using Stele.Core.Notes;

namespace Stele.Core.Tests.Notes;

public sealed class NoteVectorTests
{
    // What Stele answers for each notes[] entry that does not verify. Keys are the vector ids;
    // an entry missing here and not "valid" or "parse-only" fails the test, so new vectors get classified.
    private static readonly Dictionary<string, NoteVerificationFailure> ExpectedFailures = new()
    {
        ["xmod-no-known-verifier"] = NoteVerificationFailure.NoVerifiableSignature,
        ["xmod-duplicate-verifier-used"] = NoteVerificationFailure.AmbiguousKey,
        ["xmod-corrupted-signature"] = NoteVerificationFailure.InvalidSignature,
        // The vkey's name differs, so the signature's key is unknown and nothing verifies.
        ["rekor-ecdsa-wrong-name-in-vkey"] = NoteVerificationFailure.NoVerifiableSignature,
        // The corruption also changes the 4 key ID bytes, so the line is from an unknown key.
        ["rekor-ecdsa-bad-signature"] = NoteVerificationFailure.NoVerifiableSignature,
    };

    public static TheoryData<string> NoteIds()
    {
        var data = new TheoryData<string>();
        foreach (var entry in NoteTestData.Vectors.GetProperty("notes").EnumerateArray())
        {
            data.Add(entry.GetProperty("id").GetString()!);
        }

        return data;
    }

    public static TheoryData<string> MalformedNoteDescriptions()
    {
        var data = new TheoryData<string>();
        foreach (var entry in NoteTestData.Vectors.GetProperty("malformedNotes").GetProperty("cases").EnumerateArray())
        {
            data.Add(entry.GetProperty("desc").GetString()!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(NoteIds))]
    public void Every_note_vector_gives_the_expected_result(string id)
    {
        var entry = NoteTestData.Vectors.GetProperty("notes").EnumerateArray().Single(e => e.GetProperty("id").GetString() == id);
        var note = Encoding.UTF8.GetBytes(entry.GetProperty("note").GetString()!);
        var keys = entry.GetProperty("verifiers").EnumerateArray().Select(v => NoteVerifierKey.Parse(v.GetString()!)).ToList();
        var expect = entry.GetProperty("expect").GetString()!;

        if (expect == "valid")
        {
            var opened = NoteVerifier.Open(note, keys);
            Assert.Equal(Names(entry, "verifiedSigs"), opened.VerifiedSignatures.Select(s => s.KeyName));
            Assert.Equal(Names(entry, "unverifiedSigs"), opened.UnverifiedSignatures.Select(s => s.KeyName));
        }
        else if (expect.StartsWith("parse-only", StringComparison.Ordinal))
        {
            var parsed = SignedNote.Parse(note);
            if (entry.TryGetProperty("text", out var text))
            {
                Assert.Equal(text.GetString(), parsed.Text);
            }

            Assert.Equal(note, parsed.Format());
            var error = Assert.Throws<NoteVerificationException>(() => NoteVerifier.Open(note, keys));
            Assert.Equal(NoteVerificationFailure.NoVerifiableSignature, error.Failure);
        }
        else if (expect.StartsWith("error: malformed note", StringComparison.Ordinal))
        {
            var error = Assert.Throws<NoteFormatException>(() => NoteVerifier.Open(note, keys));
            Assert.Equal(NoteFormatException.TooManySignaturesCode, error.Code);
        }
        else
        {
            Assert.True(ExpectedFailures.TryGetValue(id, out var failure), $"Vector {id} ({expect}) is not classified.");
            var error = Assert.Throws<NoteVerificationException>(() => NoteVerifier.Open(note, keys));
            Assert.Equal(failure, error.Failure);
        }
    }

    [Theory]
    [MemberData(nameof(MalformedNoteDescriptions))]
    public void Every_malformed_note_vector_is_rejected_as_malformed(string description)
    {
        var malformed = NoteTestData.Vectors.GetProperty("malformedNotes");
        var entry = malformed.GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("desc").GetString() == description);
        var note = entry.TryGetProperty("noteBase64", out var base64)
            ? Convert.FromBase64String(base64.GetString()!)
            : Encoding.UTF8.GetBytes(entry.GetProperty("note").GetString()!);
        var keys = malformed.GetProperty("verifiers").EnumerateArray().Select(v => NoteVerifierKey.Parse(v.GetString()!)).ToList();

        Assert.Throws<NoteFormatException>(() => NoteVerifier.Open(note, keys));
    }

    [Theory]
    [InlineData("spec-examples/signed-note-example.note", "spec-examples/signed-note-example.vkey")]
    [InlineData("golang-sumdb-note/peter-signed.note", "golang-sumdb-note/PeterNeumann.vkey")]
    [InlineData("golang-sumdb-note/peter-and-enoch-signed.note", "golang-sumdb-note/PeterNeumann.vkey")]
    [InlineData("golang-sumdb-note/peter-and-enoch-signed.note", "golang-sumdb-note/EnochRoot.vkey")]
    [InlineData("sum.golang.org/checkpoint-6476701.note", "sum.golang.org/sum.golang.org.vkey")]
    [InlineData("sum.golang.org/checkpoint-6476701-plus-3-cosigs.note", "sum.golang.org/sum.golang.org.vkey")]
    [InlineData("tlog-tiles-example-300/checkpoint", "tlog-tiles-example-300/log.vkey")]
    public void Published_notes_verify_with_their_published_keys(string notePath, string keyPath)
    {
        var key = NoteVerifierKey.Parse(NoteTestData.Key(keyPath.Split('/')));
        var opened = NoteVerifier.Open(NoteTestData.Bytes(notePath.Split('/')), [key]);

        var signature = Assert.Single(opened.VerifiedSignatures);
        Assert.Equal(key.Name, signature.KeyName);
        Assert.Equal(key.KeyId, signature.KeyId);
    }

    [Fact]
    public void The_sum_golang_org_checkpoint_verifies_all_four_signatures_with_the_cosigner_keys()
    {
        var keys = NoteTestData.Keys("sum.golang.org", "cosigner-keys.vkeys").Select(NoteVerifierKey.Parse)
            .Append(NoteVerifierKey.Parse(NoteTestData.Key("sum.golang.org", "sum.golang.org.vkey")));

        var opened = NoteVerifier.Open(NoteTestData.Bytes("sum.golang.org", "checkpoint-6476701-plus-3-cosigs.note"), keys);

        Assert.Equal(["sum.golang.org", "monkeys", "bananas", "witness"], opened.VerifiedSignatures.Select(s => s.KeyName));
        Assert.Empty(opened.UnverifiedSignatures);
    }

    [Fact]
    public void Re_signing_with_the_PeterNeumann_test_key_reproduces_the_upstream_note_byte_for_byte()
    {
        var upstream = NoteTestData.Bytes("golang-sumdb-note", "peter-signed.note");
        var key = NoteSignerKey.Parse(NoteTestData.Key("golang-sumdb-note", "PeterNeumann.TEST-ONLY.skey"));

        var signed = NoteSigner.Sign(SignedNote.Parse(upstream).Text, key);

        Assert.Equal(upstream, signed);
    }

    [Fact]
    public void Signing_with_two_keys_writes_their_lines_in_order_and_both_verify()
    {
        var peter = NoteSignerKey.Parse(NoteTestData.Key("golang-sumdb-note", "PeterNeumann.TEST-ONLY.skey"));
        var other = NoteKeys.Generate("other.example/key");

        var note = NoteSigner.Sign("two signers\n", peter, other);
        var opened = NoteVerifier.Open(note, [other.VerifierKey, peter.VerifierKey]);

        Assert.Equal(["PeterNeumann", "other.example/key"], opened.VerifiedSignatures.Select(s => s.KeyName));
        Assert.Equal("two signers\n", opened.Text);
    }

    [Fact]
    public void The_cosigned_spec_checkpoint_parses_and_its_cosignature_carries_the_documented_key_id_and_timestamp()
    {
        var note = SignedNote.Parse(NoteTestData.Bytes("spec-examples", "tlog-cosignature-behind-the-sofa-cosigned.checkpoint"));
        var vector = NoteTestData.Vectors.GetProperty("notes").EnumerateArray()
            .Single(e => e.GetProperty("id").GetString() == "c2sp-behind-the-sofa-cosigned").GetProperty("cosignature");

        var cosignature = note.Signatures[1];
        Assert.Equal(vector.GetProperty("name").GetString(), cosignature.KeyName);
        Assert.Equal(vector.GetProperty("keyId").GetString(), cosignature.KeyId.ToString("x8", System.Globalization.CultureInfo.InvariantCulture));

        // tlog-cosignature §"Format": the signature is uint64 BE timestamp ‖ 64-byte Ed25519 signature.
        Assert.Equal(8 + 64, cosignature.Signature.Length);
        Assert.Equal(vector.GetProperty("timestamp").GetUInt64(),
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(cosignature.Signature));
    }

    [Fact]
    public void A_signature_by_a_known_cosignature_v1_key_is_reported_unverified_not_trusted()
    {
        // Stele cannot check cosignature/v1 (it signs another message), so a note whose only
        // known key is one is treated as having no verifiable signature.
        var witness = NoteVerifierKey.Parse("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2");
        var log = NoteKeys.Generate("log.example");
        var note = Encoding.UTF8.GetString(NoteSigner.Sign("log.example\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", log));
        var body = new byte[4 + 8 + 64];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(body, witness.KeyId);
        var cosigned = Encoding.UTF8.GetBytes($"{note}\u2014 remora.n621.de {Convert.ToBase64String(body)}\n");

        var opened = NoteVerifier.Open(cosigned, [log.VerifierKey, witness]);
        Assert.Equal(["log.example"], opened.VerifiedSignatures.Select(s => s.KeyName));
        Assert.Equal(["remora.n621.de"], opened.UnverifiedSignatures.Select(s => s.KeyName));

        var error = Assert.Throws<NoteVerificationException>(() => NoteVerifier.Open(cosigned, [witness]));
        Assert.Equal(NoteVerificationFailure.NoVerifiableSignature, error.Failure);
    }

    private static IEnumerable<string> Names(JsonElement entry, string property) =>
        entry.TryGetProperty(property, out var names) ? names.EnumerateArray().Select(n => n.GetString()!) : [];
}
