using System.Text;
using Stele.Core.Errors;
using Stele.Core.Notes;

namespace Stele.Core.Tests.Notes;

public sealed class SignedNoteTests
{
    private static readonly NoteSignerKey Peter =
        NoteSignerKey.Parse("PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz");

    [Fact]
    public void The_last_blank_line_separates_the_text_from_the_signatures()
    {
        var note = NoteSigner.Sign("first\n\nsecond\n", Peter);

        var parsed = SignedNote.Parse(note);
        Assert.Equal("first\n\nsecond\n", parsed.Text);
        Assert.Single(parsed.Signatures);
        Assert.Equal("first\n\nsecond\n", NoteVerifier.Open(note, [Peter.VerifierKey]).Text);
    }

    [Fact]
    public void A_text_of_only_a_newline_can_be_signed_and_opened()
    {
        var note = NoteSigner.Sign("\n", Peter);
        Assert.Equal("\n", NoteVerifier.Open(note, [Peter.VerifierKey]).Text);
    }

    [Theory]
    [InlineData("", NoteFormatException.MissingFinalNewlineCode)]
    [InlineData("no newline", NoteFormatException.MissingFinalNewlineCode)]
    [InlineData("tab\there\n", NoteFormatException.ControlCharacterCode)]
    [InlineData("carriage\r\n", NoteFormatException.ControlCharacterCode)]
    public void Texts_that_cannot_be_note_texts_are_refused_by_the_signer(string text, string code)
    {
        Assert.Equal(code, Assert.Throws<NoteFormatException>(() => NoteSigner.Sign(text, Peter)).Code);
    }

    [Fact]
    public void A_text_with_a_lone_surrogate_is_refused_by_the_signer()
    {
        var text = "lone " + (char)0xD800 + " surrogate\n";
        Assert.Equal(NoteFormatException.InvalidUtf8Code, Assert.Throws<NoteFormatException>(() => NoteSigner.Sign(text, Peter)).Code);
    }

    [Fact]
    public void Signing_without_keys_is_refused()
    {
        Assert.Throws<ArgumentException>(() => NoteSigner.Sign("text\n"));
    }

    [Fact]
    public void Sixteen_signatures_are_accepted_as_the_spec_requires_and_one_hundred_is_the_limit()
    {
        var keys = Enumerable.Range(0, SignedNote.MaxSignatures).Select(i => NoteKeys.Generate($"k{i}")).ToArray();
        var sixteen = NoteSigner.Sign("text\n", keys[..16]);
        Assert.Equal(16, NoteVerifier.Open(sixteen, keys.Select(k => k.VerifierKey)).VerifiedSignatures.Count);

        var hundred = NoteSigner.Sign("text\n", keys);
        Assert.Equal(100, SignedNote.Parse(hundred).Signatures.Count);

        var extra = Encoding.UTF8.GetString(NoteSigner.Sign("text\n", keys[0])).Split('\n')[2];
        var tooMany = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(hundred) + extra + "\n");
        Assert.Equal(NoteFormatException.TooManySignaturesCode, Assert.Throws<NoteFormatException>(() => SignedNote.Parse(tooMany)).Code);
    }

    [Theory]
    [InlineData("text\n\n- PeterNeumann AAAAAAA=\n")]
    [InlineData("text\n\n\u2014PeterNeumann AAAAAAA=\n")]
    [InlineData("text\n\n\u2014 PeterNeumann\n")]
    [InlineData("text\n\n\u2014 PeterNeumann \n")]
    [InlineData("text\n\n\u2014  AAAAAAA=\n")]
    [InlineData("text\n\n\u2014 Peter+Neumann AAAAAAA=\n")]
    [InlineData("text\n\n\u2014 PeterNeumann AAAA\n")]
    [InlineData("text\n\n\u2014 PeterNeumann AAAAAAA\n")]
    [InlineData("text\n\n\u2014 PeterNeumann AAAAAAB=\n")]
    [InlineData("text\n\n\u2014 PeterNeumann AAAA AAA=\n")]
    [InlineData("text\n\n\u2014 PeterNeumann AAAAAAA=\n\n")]
    [InlineData("text\n\n\u2014 PeterNeumann AAAAAAA=\n\u2014 PeterNeumann AAAAAAA= \n")]
    [InlineData("text\n\n\u2014 Peter\u00a0Neumann AAAAAAA=\n")]
    public void Malformed_signature_lines_are_rejected(string note)
    {
        var error = Assert.ThrowsAny<SteleFormatException>(() => SignedNote.Parse(Encoding.UTF8.GetBytes(note)));
        Assert.IsType<NoteFormatException>(error);
    }

    [Fact]
    public void The_shortest_well_formed_signature_line_parses()
    {
        var parsed = SignedNote.Parse("text\n\n\u2014 PeterNeumann AAAAAAA=\n"u8);
        Assert.Equal(0u, parsed.Signatures[0].KeyId);
        Assert.Equal(1, parsed.Signatures[0].Signature.Length);
    }

    [Fact]
    public void A_note_with_an_unknown_key_named_like_a_known_one_is_not_verified()
    {
        // Same name, other key ID: it MUST be ignored (signed-note §"Signatures").
        var impostor = NoteSignerKey.FromSeed("PeterNeumann", new byte[32]);
        var note = NoteSigner.Sign("text\n", impostor);

        var error = Assert.Throws<NoteVerificationException>(() => NoteVerifier.Open(note, [Peter.VerifierKey]));
        Assert.Equal(NoteVerificationFailure.NoVerifiableSignature, error.Failure);
        Assert.Equal("note_no_verifiable_signature", error.Code);
    }

    [Fact]
    public void A_forged_line_from_a_known_key_rejects_the_note_even_when_another_signature_verifies()
    {
        var log = NoteKeys.Generate("log.example");
        var witness = NoteKeys.Generate("witness.example");
        var good = Encoding.UTF8.GetString(NoteSigner.Sign("text\n", log));
        var forgedLine = Encoding.UTF8.GetString(NoteSigner.Sign("other\n", witness)).Split('\n')[2];
        var note = Encoding.UTF8.GetBytes(good + forgedLine + "\n");

        var error = Assert.Throws<NoteVerificationException>(() => NoteVerifier.Open(note, [log.VerifierKey, witness.VerifierKey]));
        Assert.Equal(NoteVerificationFailure.InvalidSignature, error.Failure);
        Assert.Equal("witness.example", error.KeyName);
        Assert.Equal(witness.KeyId, error.KeyId);

        // Without the witness key the forged line is from an unknown key and is ignored.
        var opened = NoteVerifier.Open(note, [log.VerifierKey]);
        Assert.Equal(["witness.example"], opened.UnverifiedSignatures.Select(s => s.KeyName));
    }

    [Fact]
    public void Formatting_a_parsed_note_gives_back_its_bytes()
    {
        var bytes = NoteTestData.Bytes("sum.golang.org", "checkpoint-6476701-plus-3-cosigs.note");
        Assert.Equal(bytes, SignedNote.Parse(bytes).Format());
    }

    [Fact]
    public void Random_and_truncated_inputs_only_ever_raise_typed_errors()
    {
        var random = new Random(20261122);
        var seeds = new[]
        {
            NoteTestData.Bytes("sum.golang.org", "checkpoint-6476701-plus-3-cosigs.note"),
            NoteTestData.Bytes("spec-examples", "signed-note-quasimodo.note"),
        };
        var keys = NoteTestData.Keys("sum.golang.org", "cosigner-keys.vkeys").Select(NoteVerifierKey.Parse).ToList();
        var typedErrors = 0;

        foreach (var seed in seeds)
        {
            for (var length = 0; length <= seed.Length; length++)
            {
                typedErrors += OpenExpectingOnlyTypedErrors(seed[..length], keys);
            }

            for (var i = 0; i < 2000; i++)
            {
                var mutated = (byte[])seed.Clone();
                for (var n = random.Next(1, 6); n > 0; n--)
                {
                    mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
                }

                typedErrors += OpenExpectingOnlyTypedErrors(mutated, keys);
            }
        }

        Assert.True(typedErrors > 4000);
    }

    private static int OpenExpectingOnlyTypedErrors(byte[] note, List<NoteVerifierKey> keys)
    {
        try
        {
            NoteVerifier.Open(note, keys);
            return 0;
        }
        catch (NoteFormatException)
        {
            return 1;
        }
        catch (NoteVerificationException)
        {
            return 1;
        }
    }
}
