using System.Security.Cryptography;

namespace Stele.Server.Delivery;

/// <summary>
/// A Standard Webhooks symmetric signing secret: 24 to 64 random bytes, shown as <c>whsec_</c> and
/// their base64 (specification, "Signature scheme": "Random. At least 24 bytes (192 bits, 512 maximum)").
/// <see cref="ToString"/> never shows it; only <see cref="Text"/> does.
/// </summary>
internal sealed class WebhookSecret
{
    public const string Prefix = "whsec_";
    public const int MinimumBytes = 24;
    public const int MaximumBytes = 64;

    // 32 bytes: the HMAC-SHA256 block size is larger, the output size is 32; more adds nothing.
    private const int GeneratedBytes = 32;

    private readonly byte[] _key;

    private WebhookSecret(byte[] key)
    {
        _key = key;
        Text = Prefix + Convert.ToBase64String(key);
    }

    /// <summary>The secret as given to the receiver: <c>whsec_</c> followed by the key in standard base64.</summary>
    public string Text { get; }

    /// <summary>The HMAC key: the base64-decoded part after <c>whsec_</c>.</summary>
    internal ReadOnlySpan<byte> Key => _key;

    public static WebhookSecret Generate() => new(RandomNumberGenerator.GetBytes(GeneratedBytes));

    /// <summary>
    /// Reads <c>whsec_&lt;base64&gt;</c>, or the bare base64 as the reference libraries also accept. The error
    /// says what is wrong without repeating the text.
    /// </summary>
    public static bool TryParse(string? text, out WebhookSecret? secret, out string? error)
    {
        secret = null;
        var encoded = text ?? string.Empty;
        if (encoded.StartsWith(Prefix, StringComparison.Ordinal))
        {
            encoded = encoded[Prefix.Length..];
        }

        if (encoded.Length == 0)
        {
            error = "the secret is empty; expected whsec_ followed by base64";
            return false;
        }

        // Convert.TryFromBase64String skips white space; a secret with any is a pasting mistake.
        var buffer = new byte[encoded.Length];
        if (encoded.Any(char.IsWhiteSpace) || !Convert.TryFromBase64String(encoded, buffer, out var length))
        {
            error = "the secret is not valid base64 after whsec_";
            return false;
        }

        if (length is < MinimumBytes or > MaximumBytes)
        {
            CryptographicOperations.ZeroMemory(buffer);
            error = $"the secret decodes to {length} bytes; Standard Webhooks requires {MinimumBytes} to {MaximumBytes}";
            return false;
        }

        secret = new WebhookSecret(buffer[..length]);
        CryptographicOperations.ZeroMemory(buffer);
        error = null;
        return true;
    }

    public override string ToString() => Prefix + "[redacted]";
}
