using System.Buffers.Binary;
using System.Security.Cryptography;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Stele.Core.Notes;

/// <summary>
/// A public verifier key in the text form used by golang.org/x/mod/sumdb/note and
/// c2sp.org/signed-note tooling: <c>&lt;name&gt;+&lt;hex key ID&gt;+&lt;base64(type ‖ key)&gt;</c>.
/// Immutable and thread-safe.
/// </summary>
/// <remarks>
/// Stele verifies <see cref="NoteSignatureType.Ed25519"/> and <see cref="NoteSignatureType.Ecdsa"/>
/// (NIST P-256 with SHA-256) signatures. <see cref="NoteSignatureType.CosignatureV1"/> and
/// <see cref="NoteSignatureType.Rfc6962TreeHead"/> keys parse, but their signatures sign a message
/// other than the note text, so Stele reports them as unverified (<see cref="CanVerify"/> is false).
/// </remarks>
public sealed class NoteVerifierKey : IEquatable<NoteVerifierKey>
{
    internal const int Ed25519KeySize = 32;
    internal const int Ed25519SignatureSize = 64;

    private readonly byte[] _typedKey;
    private readonly string _encoded;

    private NoteVerifierKey(string name, uint keyId, byte[] typedKey)
    {
        Name = name;
        KeyId = keyId;
        _typedKey = typedKey;
        _encoded = $"{name}+{NoteEncoding.FormatKeyId(keyId)}+{Convert.ToBase64String(typedKey)}";
    }

    /// <summary>The key name, which appears in signature lines.</summary>
    public string Name { get; }

    /// <summary>The 32-bit key ID, the first four bytes of every signature by this key.</summary>
    public uint KeyId { get; }

    /// <summary>The signature type (the first byte of the encoded key).</summary>
    public NoteSignatureType Type => (NoteSignatureType)_typedKey[0];

    /// <summary>The public key material after the type byte (32 bytes for Ed25519, a DER SPKI for ECDSA).</summary>
    public ReadOnlySpan<byte> PublicKey => _typedKey.AsSpan(1);

    /// <summary>Whether Stele can check signatures by this key over a note text.</summary>
    public bool CanVerify => Type is NoteSignatureType.Ed25519 or NoteSignatureType.Ecdsa;

    /// <summary>Parses <c>name+hexid+base64</c>, checking the name rules, the key length and the key ID.</summary>
    /// <exception cref="NoteKeyFormatException">The key is malformed or of an unknown type.</exception>
    public static NoteVerifierKey Parse(string encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);

        // The base64 alphabet contains '+', so only the first two '+' separate parts; the name
        // itself may not contain one (signed-note §"Format").
        var first = encoded.IndexOf('+', StringComparison.Ordinal);
        var second = first < 0 ? -1 : encoded.IndexOf('+', first + 1);
        if (second < 0)
        {
            throw new NoteKeyFormatException(NoteKeyFormatException.MalformedCode,
                "A verifier key has the form <name>+<hex key ID>+<base64 key>.");
        }

        var name = encoded[..first];
        if (!NoteEncoding.IsValidKeyName(name))
        {
            throw new NoteKeyFormatException(NoteKeyFormatException.InvalidNameCode,
                "The key name must be non-empty and contain no spaces, '+' or control characters.");
        }

        if (!NoteEncoding.TryParseKeyId(encoded.AsSpan(first + 1, second - first - 1), out var keyId))
        {
            throw new NoteKeyFormatException(NoteKeyFormatException.InvalidKeyIdCode,
                $"The key ID of verifier key '{name}' must be exactly 8 hexadecimal digits.");
        }

        var typedKey = NoteEncoding.DecodeCanonicalBase64(encoded.AsSpan(second + 1))
            ?? throw new NoteKeyFormatException(NoteKeyFormatException.InvalidEncodingCode,
                $"The key material of verifier key '{name}' is not canonical base64.");

        return FromTypedKey(name, keyId, typedKey);
    }

    /// <summary>Creates the verifier key of an Ed25519 public key, computing its key ID.</summary>
    internal static NoteVerifierKey FromEd25519PublicKey(string name, ReadOnlySpan<byte> publicKey)
    {
        var typedKey = new byte[1 + Ed25519KeySize];
        typedKey[0] = (byte)NoteSignatureType.Ed25519;
        publicKey.CopyTo(typedKey.AsSpan(1));
        return new NoteVerifierKey(name, NoteEncoding.ComputeKeyId(name, typedKey), typedKey);
    }

    private static NoteVerifierKey FromTypedKey(string name, uint keyId, byte[] typedKey)
    {
        var key = typedKey.AsSpan(1);
        uint expectedId;
        switch ((NoteSignatureType)typedKey[0])
        {
            case NoteSignatureType.Ed25519:
            case NoteSignatureType.CosignatureV1:
                RequireLength(name, key, Ed25519KeySize);
                expectedId = NoteEncoding.ComputeKeyId(name, typedKey);
                break;

            case NoteSignatureType.Ecdsa:
                // signed-note §"Signature types": the key ID of 0x02 keys is SHA-256(DER SPKI)[:4].
                RequireP256SubjectPublicKeyInfo(name, key);
                expectedId = BinaryPrimitives.ReadUInt32BigEndian(SHA256.HashData(key));
                break;

            case NoteSignatureType.Rfc6962TreeHead:
                // c2sp.org/static-ct-api: the key ID is computed over the 32-byte RFC 6962 log ID,
                // SHA-256 of the DER SPKI, in place of the public key.
                if (key.IsEmpty)
                {
                    throw new NoteKeyFormatException(NoteKeyFormatException.InvalidKeyCode,
                        $"Verifier key '{name}' has no key material.");
                }

                var logIdInput = new byte[1 + 32];
                logIdInput[0] = typedKey[0];
                SHA256.HashData(key, logIdInput.AsSpan(1));
                expectedId = NoteEncoding.ComputeKeyId(name, logIdInput);
                break;

            default:
                throw new NoteKeyFormatException(NoteKeyFormatException.UnsupportedTypeCode,
                    $"Verifier key '{name}' has signature type 0x{typedKey[0]:x2}, which Stele does not know.");
        }

        if (expectedId != keyId)
        {
            throw new NoteKeyFormatException(NoteKeyFormatException.KeyIdMismatchCode,
                $"Verifier key '{name}' says key ID {NoteEncoding.FormatKeyId(keyId)} but its key gives {NoteEncoding.FormatKeyId(expectedId)}.");
        }

        return new NoteVerifierKey(name, keyId, typedKey);
    }

    private static void RequireLength(string name, ReadOnlySpan<byte> key, int length)
    {
        if (key.Length != length)
        {
            throw new NoteKeyFormatException(NoteKeyFormatException.InvalidKeyCode,
                $"Verifier key '{name}' has {key.Length} bytes of key material; its type needs {length}.");
        }
    }

    private static void RequireP256SubjectPublicKeyInfo(string name, ReadOnlySpan<byte> spki)
    {
        try
        {
            using var ecdsa = ECDsa.Create();
            ecdsa.ImportSubjectPublicKeyInfo(spki, out var read);
            var curve = ecdsa.ExportParameters(false).Curve;
            if (read == spki.Length && curve.IsNamed && curve.Oid.Value == ECCurve.NamedCurves.nistP256.Oid.Value)
            {
                return;
            }
        }
        catch (CryptographicException)
        {
            // Falls through to the typed error below.
        }

        throw new NoteKeyFormatException(NoteKeyFormatException.InvalidKeyCode,
            $"Verifier key '{name}' is not an ECDSA NIST P-256 SubjectPublicKeyInfo (the only ECDSA curve Stele verifies).");
    }

    /// <summary>
    /// Checks <paramref name="signature"/> (without the 4-byte key ID) over the note text. Always
    /// false for types Stele cannot verify.
    /// </summary>
    internal bool Verify(byte[] text, int textLength, ReadOnlySpan<byte> signature)
    {
        switch (Type)
        {
            case NoteSignatureType.Ed25519:
                // RFC 8032 §5.1.7; BouncyCastle rejects non-canonical S and undecodable points.
                return signature.Length == Ed25519SignatureSize
                    && Ed25519.Verify(signature.ToArray(), 0, _typedKey, 1, text, 0, textLength);

            case NoteSignatureType.Ecdsa:
                try
                {
                    using var ecdsa = ECDsa.Create();
                    ecdsa.ImportSubjectPublicKeyInfo(PublicKey, out _);
                    return ecdsa.VerifyData(text.AsSpan(0, textLength), signature, HashAlgorithmName.SHA256,
                        DSASignatureFormat.Rfc3279DerSequence);
                }
                catch (CryptographicException)
                {
                    return false;
                }

            default:
                return false;
        }
    }

    /// <summary>The text form, <c>name+hexid+base64(type ‖ key)</c>.</summary>
    public string Format() => _encoded;

    /// <inheritdoc/>
    public override string ToString() => _encoded;

    /// <inheritdoc/>
    public bool Equals(NoteVerifierKey? other) => other is not null && string.Equals(_encoded, other._encoded, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as NoteVerifierKey);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(_encoded);
}
