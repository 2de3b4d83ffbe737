using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Stele.Core.Notes;

/// <summary>
/// An Ed25519 signer key in the x/mod <c>sumdb/note</c> text form:
/// <c>PRIVATE+KEY+&lt;name&gt;+&lt;hex key ID&gt;+&lt;base64(0x01 ‖ 32-byte seed)&gt;</c>.
/// Immutable and thread-safe. <see cref="ToString"/> never prints the seed; only
/// <see cref="Format"/> does, for writing the key to its file.
/// </summary>
public sealed class NoteSignerKey
{
    private const string Prefix = "PRIVATE+KEY+";
    private const int SeedSize = 32;

    private readonly byte[] _seed;
    private readonly byte[] _publicKey;

    private NoteSignerKey(string name, byte[] seed)
    {
        _seed = seed;
        _publicKey = new byte[NoteVerifierKey.Ed25519KeySize];
        Ed25519.GeneratePublicKey(seed, 0, _publicKey, 0);
        VerifierKey = NoteVerifierKey.FromEd25519PublicKey(name, _publicKey);
        SignatureLinePrefix = System.Text.Encoding.UTF8.GetBytes($"\u2014 {name} ");
    }

    /// <summary>The key name, which appears in signature lines.</summary>
    public string Name => VerifierKey.Name;

    /// <summary>The key ID of the matching verifier key.</summary>
    public uint KeyId => VerifierKey.KeyId;

    /// <summary>The public verifier key to publish.</summary>
    public NoteVerifierKey VerifierKey { get; }

    /// <summary>Parses a signer key, deriving the public key and checking the key ID against it.</summary>
    /// <exception cref="NoteKeyFormatException">The key is malformed, not Ed25519, or its key ID is wrong.</exception>
    public static NoteSignerKey Parse(string encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        if (!encoded.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw new NoteKeyFormatException(NoteKeyFormatException.MalformedCode,
                "A signer key has the form PRIVATE+KEY+<name>+<hex key ID>+<base64 key>.");
        }

        var rest = encoded.AsSpan(Prefix.Length);
        var first = rest.IndexOf('+');
        var second = first < 0 ? -1 : rest[(first + 1)..].IndexOf('+');
        if (second < 0)
        {
            throw new NoteKeyFormatException(NoteKeyFormatException.MalformedCode,
                "A signer key has the form PRIVATE+KEY+<name>+<hex key ID>+<base64 key>.");
        }

        second += first + 1;
        var name = rest[..first].ToString();
        if (!NoteEncoding.IsValidKeyName(name))
        {
            throw new NoteKeyFormatException(NoteKeyFormatException.InvalidNameCode,
                "The key name must be non-empty and contain no spaces, '+' or control characters.");
        }

        if (!NoteEncoding.TryParseKeyId(rest[(first + 1)..second], out var keyId))
        {
            throw new NoteKeyFormatException(NoteKeyFormatException.InvalidKeyIdCode,
                $"The key ID of signer key '{name}' must be exactly 8 hexadecimal digits.");
        }

        // Never echo the key material in messages: this string is a secret.
        var typedSeed = NoteEncoding.DecodeCanonicalBase64(rest[(second + 1)..])
            ?? throw new NoteKeyFormatException(NoteKeyFormatException.InvalidEncodingCode,
                $"The key material of signer key '{name}' is not canonical base64.");
        if (typedSeed[0] != (byte)NoteSignatureType.Ed25519)
        {
            throw new NoteKeyFormatException(NoteKeyFormatException.UnsupportedTypeCode,
                $"Signer key '{name}' has signature type 0x{typedSeed[0]:x2}; Stele signs only with Ed25519 (0x01).");
        }

        if (typedSeed.Length != 1 + SeedSize)
        {
            throw new NoteKeyFormatException(NoteKeyFormatException.InvalidKeyCode,
                $"Signer key '{name}' must hold a 32-byte Ed25519 seed.");
        }

        var key = new NoteSignerKey(name, typedSeed[1..]);
        Array.Clear(typedSeed);

        // The key ID covers the public key, so it can only be checked after deriving it.
        if (key.KeyId != keyId)
        {
            throw new NoteKeyFormatException(NoteKeyFormatException.KeyIdMismatchCode,
                $"Signer key '{name}' says key ID {NoteEncoding.FormatKeyId(keyId)} but its key gives {NoteEncoding.FormatKeyId(key.KeyId)}.");
        }

        return key;
    }

    /// <summary>Creates a signer key from a 32-byte Ed25519 seed (RFC 8032 §5.1.5 private key).</summary>
    internal static NoteSignerKey FromSeed(string name, ReadOnlySpan<byte> seed)
    {
        if (!NoteEncoding.IsValidKeyName(name))
        {
            throw new ArgumentException("The key name must be non-empty and contain no spaces, '+' or control characters.", nameof(name));
        }

        if (seed.Length != SeedSize)
        {
            throw new ArgumentException("An Ed25519 seed has 32 bytes.", nameof(seed));
        }

        return new NoteSignerKey(name, seed.ToArray());
    }

    /// <summary>The UTF-8 bytes <c>"— name "</c> that start this key's signature lines.</summary>
    internal byte[] SignatureLinePrefix { get; }

    /// <summary>
    /// Signs <paramref name="message"/>[0..<paramref name="length"/>) with Ed25519 (RFC 8032 §5.1.6),
    /// writing 64 bytes to <paramref name="signature"/> at <paramref name="signatureOffset"/>.
    /// </summary>
    internal void Sign(byte[] message, int length, byte[] signature, int signatureOffset) =>
        Ed25519.Sign(_seed, 0, _publicKey, 0, message, 0, length, signature, signatureOffset);

    /// <summary>The secret text form, <c>PRIVATE+KEY+name+hexid+base64(0x01 ‖ seed)</c>. Handle with care.</summary>
    public string Format()
    {
        var typedSeed = new byte[1 + SeedSize];
        typedSeed[0] = (byte)NoteSignatureType.Ed25519;
        _seed.CopyTo(typedSeed, 1);
        var encoded = $"{Prefix}{Name}+{NoteEncoding.FormatKeyId(KeyId)}+{Convert.ToBase64String(typedSeed)}";
        Array.Clear(typedSeed);
        return encoded;
    }

    /// <summary>Names the key without revealing it.</summary>
    public override string ToString() => $"NoteSignerKey({Name}+{NoteEncoding.FormatKeyId(KeyId)})";
}
