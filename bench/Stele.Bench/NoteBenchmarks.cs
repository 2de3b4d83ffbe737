using BenchmarkDotNet.Attributes;
using Stele.Core.Checkpoints;
using Stele.Core.Notes;

namespace Stele.Bench;

/// <summary>
/// Checkpoint signing and verification: the server signs a checkpoint per ledger every second
/// while the log grows, and verifiers open one per proof check (DESIGN.md, "Background work").
/// </summary>
[MemoryDiagnoser]
public class NoteBenchmarks
{
    private CheckpointSigner _signer = null!;
    private CheckpointVerifier _verifier = null!;
    private Checkpoint _checkpoint = null!;
    private byte[] _signedNote = [];

    [GlobalSetup]
    public void Setup()
    {
        // A fixed seed keeps runs comparable; the key is throwaway.
        var key = NoteSignerKey.Parse("PRIVATE+KEY+example.com/testlog+0dad8a95+AZS//R9zQLJJZOAbi+HpXWRQ4OyTmwE0eLWpkC/wmzNo");
        _signer = new CheckpointSigner(key);
        _verifier = new CheckpointVerifier(key.VerifierKey);
        _checkpoint = Checkpoint.Create(
            "stele.example/default",
            123_456_789,
            Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(),
            Enumerable.Range(0, 32).Select(i => (byte)(255 - i)).ToArray());
        _signedNote = _signer.Sign(_checkpoint);
    }

    [Benchmark]
    public byte[] SignCheckpoint() => _signer.Sign(_checkpoint);

    [Benchmark]
    public Checkpoint VerifyCheckpoint() => _verifier.Open(_signedNote);

    [Benchmark]
    public Checkpoint ParseCheckpointBody() => Checkpoint.Parse(_checkpoint.Format());
}
