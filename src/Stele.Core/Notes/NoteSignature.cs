namespace Stele.Core.Notes;

/// <summary>
/// One signature line of a note, <c>— &lt;key name&gt; base64(key ID ‖ signature)</c>
/// (signed-note §"Signatures"), as parsed; it says nothing about whether it verifies.
/// </summary>
public sealed class NoteSignature
{
    private readonly byte[] _signature;

    internal NoteSignature(string keyName, uint keyId, byte[] signature, string base64)
    {
        KeyName = keyName;
        KeyId = keyId;
        _signature = signature;
        Base64 = base64;
    }

    /// <summary>The key name from the signature line.</summary>
    public string KeyName { get; }

    /// <summary>The key ID, the first four bytes of the decoded signature.</summary>
    public uint KeyId { get; }

    /// <summary>The signature bytes after the key ID.</summary>
    public ReadOnlySpan<byte> Signature => _signature;

    /// <summary>The base64 text of the line, key ID included, exactly as it appears in the note.</summary>
    public string Base64 { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{KeyName}+{NoteEncoding.FormatKeyId(KeyId)}";
}
