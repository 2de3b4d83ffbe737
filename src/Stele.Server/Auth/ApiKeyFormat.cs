using System.Security.Cryptography;
using System.Text;

namespace Stele.Server.Auth;

/// <summary>
/// API key secrets: <c>stele_&lt;prefix&gt;_&lt;secret&gt;</c> where the prefix is 12 lowercase
/// base32 characters used to find the key and the secret is 256 random bits in base64url. Only
/// SHA-256 of the whole token is stored; the token is shown once, when it is created.
/// </summary>
internal static class ApiKeyFormat
{
    public const string TokenPrefix = "stele_";
    private const int PrefixLength = 12;
    private const int SecretLength = 43;
    private const string Base32 = "abcdefghijklmnopqrstuvwxyz234567";

    public static (string Token, string Prefix, byte[] Hash) Generate()
    {
        Span<byte> prefixBytes = stackalloc byte[PrefixLength];
        RandomNumberGenerator.Fill(prefixBytes);
        var prefix = new StringBuilder(PrefixLength);
        foreach (var b in prefixBytes)
        {
            prefix.Append(Base32[b & 31]);
        }

        Span<byte> secret = stackalloc byte[32];
        RandomNumberGenerator.Fill(secret);
        var token = $"{TokenPrefix}{prefix}_{Base64Url(secret)}";
        return (token, prefix.ToString(), Hash(token));
    }

    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>Extracts the lookup prefix, or null when the token is not shaped like a Stele key.</summary>
    public static string? TryGetPrefix(string token)
    {
        if (token.Length != TokenPrefix.Length + PrefixLength + 1 + SecretLength
            || !token.StartsWith(TokenPrefix, StringComparison.Ordinal)
            || token[TokenPrefix.Length + PrefixLength] != '_')
        {
            return null;
        }

        var prefix = token.Substring(TokenPrefix.Length, PrefixLength);
        foreach (var c in prefix)
        {
            if (!Base32.Contains(c, StringComparison.Ordinal))
            {
                return null;
            }
        }

        return prefix;
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
