using System.Text;
using Stele.Core.Checkpoints;
using Stele.Core.Notes;
using Stele.Core.Tests.Notes;

namespace Stele.Core.Tests.Checkpoints;

public sealed class CheckpointSigningTests
{
    [Fact]
    public void The_tlog_tiles_example_checkpoint_verifies_and_re_signing_it_reproduces_it_byte_for_byte()
    {
        var published = NoteTestData.Bytes("tlog-tiles-example-300", "checkpoint");
        var verifier = new CheckpointVerifier(NoteVerifierKey.Parse(NoteTestData.Key("tlog-tiles-example-300", "log.vkey")));
        var signer = new CheckpointSigner(NoteSignerKey.Parse(NoteTestData.Key("tlog-tiles-example-300", "log.TEST-ONLY.skey")));

        var checkpoint = verifier.Open(published, "example.com/testlog");

        Assert.Equal(300, checkpoint.Size);
        Assert.Equal("YIKAzr3eSMKJmenLg58DmAo+Yui5VQqih1jpEnnr1lc=", Convert.ToBase64String(checkpoint.RootHash));
        Assert.Equal(published, signer.Sign(checkpoint));
    }

    [Fact]
    public void The_sum_golang_org_checkpoint_opens_with_its_production_key()
    {
        var verifier = new CheckpointVerifier(NoteVerifierKey.Parse(NoteTestData.Key("sum.golang.org", "sum.golang.org.vkey")));

        var checkpoint = verifier.Open(NoteTestData.Bytes("sum.golang.org", "checkpoint-6476701-plus-3-cosigs.note"));

        Assert.Equal("go.sum database tree", checkpoint.Origin);
        Assert.Equal(6476701, checkpoint.Size);
    }

    [Fact]
    public void A_generated_key_signs_a_stele_checkpoint_that_its_verifier_key_opens()
    {
        var key = NoteKeys.Generate("stele.example");
        var checkpoint = Checkpoint.Create("stele.example/default", 1000, new byte[32], Enumerable.Repeat((byte)7, 32).ToArray());

        var note = new CheckpointSigner(key).Sign(checkpoint);
        var opened = new CheckpointVerifier(NoteVerifierKey.Parse(key.VerifierKey.Format())).Open(note, "stele.example/default");

        Assert.Equal(checkpoint, opened);
        Assert.Equal(Enumerable.Repeat((byte)7, 32).ToArray(), opened.ChainHash);
        Assert.StartsWith(checkpoint.Format() + "\n\u2014 stele.example ", Encoding.UTF8.GetString(note), StringComparison.Ordinal);
    }

    [Fact]
    public void A_checkpoint_signed_by_another_key_fails_even_under_the_same_name()
    {
        var trusted = NoteKeys.Generate("stele.example");
        var other = NoteKeys.Generate("stele.example");
        var note = new CheckpointSigner(other).Sign(Checkpoint.Create("stele.example/default", 1, new byte[32], new byte[32]));

        var error = Assert.Throws<NoteVerificationException>(() => new CheckpointVerifier(trusted.VerifierKey).Open(note));
        Assert.Equal(NoteVerificationFailure.NoVerifiableSignature, error.Failure);
    }

    [Fact]
    public void A_rotated_verifier_accepts_checkpoints_from_the_old_and_the_new_key()
    {
        var oldKey = NoteKeys.Generate("stele.example");
        var newKey = NoteKeys.Generate("stele.example");
        var verifier = new CheckpointVerifier(oldKey.VerifierKey, newKey.VerifierKey);
        var checkpoint = Checkpoint.Create("stele.example/default", 5, new byte[32], new byte[32]);

        Assert.Equal(checkpoint, verifier.Open(new CheckpointSigner(oldKey).Sign(checkpoint)));
        Assert.Equal(checkpoint, verifier.Open(new CheckpointSigner(newKey).Sign(checkpoint)));
    }

    [Fact]
    public void A_checkpoint_of_another_ledger_is_refused_when_an_origin_is_expected()
    {
        var key = NoteKeys.Generate("stele.example");
        var note = new CheckpointSigner(key).Sign(Checkpoint.Create("stele.example/billing", 1, new byte[32], new byte[32]));

        var error = Assert.Throws<CheckpointOriginMismatchException>(() => new CheckpointVerifier(key.VerifierKey).Open(note, "stele.example/default"));
        Assert.Equal("stele.example/default", error.ExpectedOrigin);
        Assert.Equal("stele.example/billing", error.ActualOrigin);
    }

    [Fact]
    public void A_signed_text_that_is_not_a_strict_checkpoint_is_a_format_error_after_verification()
    {
        var key = NoteKeys.Generate("log.example");
        var note = NoteSigner.Sign("Log\n123\nYmFuYW5hcw==\n", key);

        var error = Assert.Throws<CheckpointFormatException>(() => new CheckpointVerifier(key.VerifierKey).Open(note));
        Assert.Equal(CheckpointFormatException.InvalidRootHashCode, error.Code);
    }

    [Fact]
    public void Every_single_byte_change_to_a_signed_stele_checkpoint_fails_to_open()
    {
        var key = NoteSignerKey.Parse(NoteTestData.Key("tlog-tiles-example-300", "log.TEST-ONLY.skey"));
        var verifier = new CheckpointVerifier(key.VerifierKey);
        var original = new CheckpointSigner(key).Sign(Checkpoint.Create("example.com/testlog", 300, new byte[32], new byte[32]));
        var opened = 0;

        for (var position = 0; position < original.Length; position++)
        {
            var mutated = (byte[])original.Clone();
            mutated[position] ^= 0x01;
            try
            {
                verifier.Open(mutated);
                opened++;
            }
            catch (Exception e) when (e is NoteFormatException or NoteVerificationException or CheckpointFormatException)
            {
            }
        }

        Assert.Equal(0, opened);
    }
}
