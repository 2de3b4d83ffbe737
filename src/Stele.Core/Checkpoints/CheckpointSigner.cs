using System.Text;
using Stele.Core.Notes;

namespace Stele.Core.Checkpoints;

/// <summary>
/// Signs checkpoints as C2SP signed notes with the instance's Ed25519 key (DESIGN.md,
/// "Integrity, version 1"). Thread-safe.
/// </summary>
public sealed class CheckpointSigner
{
    private readonly NoteSignerKey[] _keys;

    /// <summary>Signs with <paramref name="key"/>.</summary>
    public CheckpointSigner(NoteSignerKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        _keys = [key];
    }

    /// <summary>The verifier key that opens this signer's checkpoints.</summary>
    public NoteVerifierKey VerifierKey => _keys[0].VerifierKey;

    /// <summary>Returns the signed note bytes: the checkpoint body, a blank line and one signature line.</summary>
    public byte[] Sign(Checkpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var text = Encoding.UTF8.GetBytes(checkpoint.Format());
        return NoteSigner.Sign(text, text.Length, _keys);
    }
}
