using System.Text.Json;
using System.Text.Json.Serialization;
using Stele.Server.Delivery;

namespace Stele.Server.Alerts;

/// <summary>
/// A webhook destination's signing secrets as stored: the current one, and during a rotation the
/// previous ones until their overlap ends. Every unexpired secret signs each delivery, so a
/// receiver verifies with either while it switches (Standard Webhooks, "Signature scheme").
/// </summary>
internal sealed class WebhookSecretSet
{
    private readonly List<Entry> _entries;

    private WebhookSecretSet(List<Entry> entries)
    {
        _entries = entries;
    }

    public static WebhookSecretSet New(WebhookSecret secret) => new([new Entry { Secret = secret.Text }]);

    public static WebhookSecretSet Parse(string? json) =>
        new(json is null ? [] : JsonSerializer.Deserialize<List<Entry>>(json) ?? []);

    public string ToJson() => JsonSerializer.Serialize(_entries);

    /// <summary>The secrets that sign at <paramref name="now"/>, newest first.</summary>
    public IReadOnlyList<WebhookSecret> Active(DateTimeOffset now)
    {
        var result = new List<WebhookSecret>();
        foreach (var entry in Enumerable.Reverse(_entries))
        {
            if ((entry.ExpiresAt is null || entry.ExpiresAt > now) && WebhookSecret.TryParse(entry.Secret, out var secret, out _))
            {
                result.Add(secret!);
            }
        }

        return result;
    }

    /// <summary>Adds <paramref name="next"/>; the secrets in use keep signing until <paramref name="overlapEnds"/>; expired ones are dropped.</summary>
    public void Rotate(WebhookSecret next, DateTimeOffset now, DateTimeOffset overlapEnds)
    {
        _entries.RemoveAll(e => e.ExpiresAt is { } at && at <= now);
        foreach (var entry in _entries)
        {
            if (entry.ExpiresAt is null || entry.ExpiresAt > overlapEnds)
            {
                entry.ExpiresAt = overlapEnds;
            }
        }

        _entries.Add(new Entry { Secret = next.Text });
    }

    /// <summary>What the API shows: a recognisable prefix of each unexpired secret and when it stops signing. Never the secret.</summary>
    public IEnumerable<(string Hint, DateTimeOffset? ExpiresAt)> Describe(DateTimeOffset now) =>
        Enumerable.Reverse(_entries)
            .Where(e => e.ExpiresAt is null || e.ExpiresAt > now)
            .Select(e => (e.Secret[..Math.Min(e.Secret.Length, WebhookSecret.Prefix.Length + 4)] + "…", e.ExpiresAt));

    private sealed class Entry
    {
        [JsonPropertyName("secret")]
        public string Secret { get; set; } = string.Empty;

        [JsonPropertyName("expires_at")]
        public DateTimeOffset? ExpiresAt { get; set; }
    }
}
