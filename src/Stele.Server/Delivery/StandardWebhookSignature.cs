using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Stele.Server.Delivery;

/// <summary>
/// The Standard Webhooks 1.0.0 symmetric signature (specification, "Signature scheme" and "Webhook
/// headers"): base64(HMAC-SHA256(key, <c>{msg_id}.{timestamp}.{payload}</c>)) with the timestamp in unix
/// seconds, sent as <c>v1,&lt;base64&gt;</c>; several signatures are separated by single spaces so that a
/// receiver can verify with either secret while a secret is rotated.
/// </summary>
internal static class StandardWebhookSignature
{
    public const string Version = "v1";

    private const int HmacBytes = 32;

    /// <summary>The <c>webhook-signature</c> header value: one <c>v1,</c> signature per secret, in the order given.</summary>
    public static string Sign(string messageId, DateTimeOffset timestamp, ReadOnlySpan<byte> body, IReadOnlyList<WebhookSecret> secrets)
    {
        ValidateMessageId(messageId);
        ArgumentNullException.ThrowIfNull(secrets);
        if (secrets.Count == 0)
        {
            throw new ArgumentException("At least one secret is needed to sign a webhook.", nameof(secrets));
        }

        var header = new StringBuilder(secrets.Count * 48);
        Span<byte> mac = stackalloc byte[HmacBytes];
        foreach (var secret in secrets)
        {
            ArgumentNullException.ThrowIfNull(secret, nameof(secrets));
            Compute(secret, messageId, timestamp.ToUnixTimeSeconds(), body, mac);
            if (header.Length > 0)
            {
                header.Append(' ');
            }

            header.Append(Version).Append(',').Append(Convert.ToBase64String(mac));
        }

        return header.ToString();
    }

    /// <summary>
    /// True when any <c>v1</c> entry of <paramref name="signatureHeader"/> is the signature of this message
    /// under any of <paramref name="secrets"/>. Other versions (<c>v1a</c>, unknown ones) are ignored, as
    /// are entries that are not base64. Compared in constant time. The timestamp is not checked against a
    /// clock here; see the overload that takes the header text and a tolerance.
    /// </summary>
    public static bool Verify(string messageId, DateTimeOffset timestamp, ReadOnlySpan<byte> body, string signatureHeader, IReadOnlyList<WebhookSecret> secrets)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        if (string.IsNullOrEmpty(messageId) || string.IsNullOrEmpty(signatureHeader) || secrets.Count == 0)
        {
            return false;
        }

        var seconds = timestamp.ToUnixTimeSeconds();
        Span<byte> expected = stackalloc byte[HmacBytes];
        Span<byte> given = stackalloc byte[HmacBytes + 3];
        var matched = false;
        foreach (var secret in secrets)
        {
            Compute(secret, messageId, seconds, body, expected);
            foreach (var range in signatureHeader.AsSpan().Split(' '))
            {
                var entry = signatureHeader.AsSpan(range);
                var comma = entry.IndexOf(',');
                if (comma < 0 || !entry[..comma].SequenceEqual(Version))
                {
                    continue;
                }

                if (Convert.TryFromBase64Chars(entry[(comma + 1)..], given, out var written) && written == HmacBytes)
                {
                    // Keep going after a match so that the time taken does not say which entry matched.
                    matched |= CryptographicOperations.FixedTimeEquals(expected, given[..HmacBytes]);
                }
            }
        }

        return matched;
    }

    /// <summary>
    /// Verifies a received webhook as a receiver would: the three header values as sent, the timestamp an
    /// integer of unix seconds within <paramref name="tolerance"/> of <paramref name="now"/> (the reference
    /// libraries use 5 minutes), then the signature.
    /// </summary>
    public static bool Verify(string? messageId, string? timestampHeader, ReadOnlySpan<byte> body, string? signatureHeader, IReadOnlyList<WebhookSecret> secrets, DateTimeOffset now, TimeSpan tolerance)
    {
        if (string.IsNullOrEmpty(messageId) || string.IsNullOrEmpty(signatureHeader)
            || !long.TryParse(timestampHeader, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            return false;
        }

        var timestamp = DateTimeOffset.FromUnixTimeSeconds(seconds);
        if ((timestamp - now).Duration() > tolerance)
        {
            return false;
        }

        return Verify(messageId, timestamp, body, signatureHeader, secrets);
    }

    /// <summary>
    /// The specification asks that the id contain no <c>.</c> (it delimits the signed content); it also
    /// goes into an HTTP header, so only visible ASCII is allowed.
    /// </summary>
    internal static void ValidateMessageId(string messageId)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        if (messageId.Length > 256 || messageId.Any(c => c is <= ' ' or > '~' or '.'))
        {
            throw new ArgumentException("A webhook message id is 1 to 256 visible ASCII characters without '.' or spaces.", nameof(messageId));
        }
    }

    private static void Compute(WebhookSecret secret, string messageId, long unixSeconds, ReadOnlySpan<byte> body, Span<byte> destination)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, secret.Key);
        hmac.AppendData(Encoding.UTF8.GetBytes(messageId));
        hmac.AppendData("."u8);
        Span<byte> digits = stackalloc byte[24];
        unixSeconds.TryFormat(digits, out var length, provider: CultureInfo.InvariantCulture);
        hmac.AppendData(digits[..length]);
        hmac.AppendData("."u8);
        hmac.AppendData(body);
        hmac.GetHashAndReset(destination);
    }
}
