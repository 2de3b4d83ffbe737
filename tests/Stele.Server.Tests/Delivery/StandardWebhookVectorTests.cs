using System.Text;
using System.Text.Json;
using Stele.Server.Delivery;

namespace Stele.Server.Tests.Delivery;

/// <summary>
/// Signatures against every vector in shared/testdata/webhooks/standard-webhooks-vectors.json: the upstream
/// library tests (github.com/standard-webhooks/standard-webhooks), their negative cases, and the
/// collector's computed edge cases (see shared/testdata/README.md, section 4).
/// </summary>
public sealed class StandardWebhookVectorTests
{
    private static readonly JsonElement Vectors = Load();
    private static readonly WebhookSecret Secret = Parse(Vectors.GetProperty("secret").GetString()!);
    private static readonly JsonElement Upstream = Vectors.GetProperty("upstreamVectors")[0];
    private static readonly string MessageId = Upstream.GetProperty("msgId").GetString()!;
    private static readonly DateTimeOffset Timestamp = DateTimeOffset.FromUnixTimeSeconds(Upstream.GetProperty("timestamp").GetInt64());
    private static readonly byte[] Payload = Encoding.UTF8.GetBytes(Upstream.GetProperty("payload").GetString()!);

    private static JsonElement Load()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var file = Path.Combine(dir.FullName, "shared", "testdata", "webhooks", "standard-webhooks-vectors.json");
            if (File.Exists(file))
            {
                using var document = JsonDocument.Parse(File.ReadAllBytes(file));
                return document.RootElement.Clone();
            }
        }

        throw new InvalidOperationException($"shared/testdata/webhooks/standard-webhooks-vectors.json was not found in any parent of {AppContext.BaseDirectory}.");
    }

    private static WebhookSecret Parse(string text)
    {
        Assert.True(WebhookSecret.TryParse(text, out var secret, out var error), error);
        return secret!;
    }

    public static TheoryData<string, string> NegativeVectors()
    {
        var data = new TheoryData<string, string>();
        foreach (var vector in Vectors.GetProperty("negativeVectors").EnumerateArray())
        {
            if (vector.TryGetProperty("signatureHeader", out var header))
            {
                data.Add(vector.GetProperty("desc").GetString()!, header.GetString()!);
            }
        }

        return data;
    }

    public static TheoryData<string> ComputedSymmetricVectors()
    {
        var data = new TheoryData<string>();
        foreach (var vector in Vectors.GetProperty("collectorComputedVectors").GetProperty("cases").EnumerateArray())
        {
            if (vector.GetProperty("expectedSignature").GetString()!.StartsWith("v1,", StringComparison.Ordinal))
            {
                data.Add(vector.GetProperty("desc").GetString()!);
            }
        }

        return data;
    }

    private static JsonElement ComputedCase(string description) =>
        Vectors.GetProperty("collectorComputedVectors").GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("desc").GetString() == description);

    [Fact]
    public void The_test_secret_decodes_to_the_raw_key_the_vectors_give()
    {
        Assert.Equal(Convert.FromHexString(Vectors.GetProperty("secretRawHex").GetString()!), Secret.Key.ToArray());
        Assert.Equal(Vectors.GetProperty("secret").GetString(), Secret.Text);
    }

    [Fact]
    public void Signing_the_upstream_vector_gives_the_upstream_signature()
    {
        Assert.Equal(Upstream.GetProperty("expectedSignature").GetString(), StandardWebhookSignature.Sign(MessageId, Timestamp, Payload, [Secret]));
    }

    [Fact]
    public void The_upstream_vector_verifies_when_now_is_its_timestamp()
    {
        var header = Upstream.GetProperty("expectedSignature").GetString()!;

        Assert.True(StandardWebhookSignature.Verify(MessageId, Timestamp, Payload, header, [Secret]));
        Assert.True(StandardWebhookSignature.Verify(MessageId, Timestamp.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), Payload, header, [Secret], Timestamp, TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void The_secret_verifies_with_or_without_its_whsec_prefix()
    {
        var vector = Vectors.GetProperty("upstreamVectors")[1];
        var header = vector.GetProperty("signatureHeader").GetString()!;
        foreach (var variant in vector.GetProperty("secretVariants").EnumerateArray())
        {
            var secret = Parse(variant.GetString()!);
            Assert.True(StandardWebhookSignature.Verify(MessageId, Timestamp, Payload, header, [secret]), variant.GetString());
            Assert.Equal(Secret.Text, secret.Text);
        }
    }

    [Fact]
    public void The_empty_secret_is_refused()
    {
        var vector = Vectors.GetProperty("upstreamVectors")[2];

        Assert.False(WebhookSecret.TryParse(vector.GetProperty("secret").GetString(), out var secret, out var error));
        Assert.Null(secret);
        Assert.NotNull(error);
    }

    [Theory]
    [MemberData(nameof(NegativeVectors))]
    public void Each_upstream_signature_header_verifies_exactly_when_the_vector_says(string description, string header)
    {
        var expectValid = Vectors.GetProperty("negativeVectors").EnumerateArray()
            .Single(v => v.GetProperty("desc").GetString() == description).GetProperty("expect").GetString() == "valid";

        Assert.Equal(expectValid, StandardWebhookSignature.Verify(MessageId, Timestamp, Payload, header, [Secret]));
    }

    [Fact]
    public void A_timestamp_outside_the_five_minute_tolerance_or_not_an_integer_does_not_verify()
    {
        var header = Upstream.GetProperty("expectedSignature").GetString()!;
        var seconds = Timestamp.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var tolerance = TimeSpan.FromMinutes(5);

        Assert.True(StandardWebhookSignature.Verify(MessageId, seconds, Payload, header, [Secret], Timestamp.AddSeconds(300), tolerance));
        Assert.True(StandardWebhookSignature.Verify(MessageId, seconds, Payload, header, [Secret], Timestamp.AddSeconds(-300), tolerance));
        Assert.False(StandardWebhookSignature.Verify(MessageId, seconds, Payload, header, [Secret], Timestamp.AddSeconds(301), tolerance));
        Assert.False(StandardWebhookSignature.Verify(MessageId, seconds, Payload, header, [Secret], Timestamp.AddSeconds(-301), tolerance));
        Assert.False(StandardWebhookSignature.Verify(MessageId, "hello", Payload, header, [Secret], Timestamp, tolerance));
        Assert.False(StandardWebhookSignature.Verify(MessageId, "-1614265330", Payload, header, [Secret], Timestamp, tolerance));
        Assert.False(StandardWebhookSignature.Verify(MessageId, null, Payload, header, [Secret], Timestamp, tolerance));
    }

    [Theory]
    [MemberData(nameof(ComputedSymmetricVectors))]
    public void Each_computed_edge_case_signs_to_its_expected_signature_and_verifies(string description)
    {
        var vector = ComputedCase(description);
        var id = vector.GetProperty("msgId").GetString()!;
        var timestamp = DateTimeOffset.FromUnixTimeSeconds(vector.GetProperty("timestamp").GetInt64());
        var payload = Encoding.UTF8.GetBytes(vector.GetProperty("payload").GetString()!);
        if (vector.TryGetProperty("payloadUtf8Hex", out var hex))
        {
            Assert.Equal(Convert.FromHexString(hex.GetString()!), payload);
        }

        var expected = vector.GetProperty("expectedSignature").GetString()!;
        Assert.Equal(expected, StandardWebhookSignature.Sign(id, timestamp, payload, [Secret]));
        Assert.True(StandardWebhookSignature.Verify(id, timestamp, payload, expected, [Secret]));
    }

    [Fact]
    public void An_asymmetric_v1a_signature_is_ignored_by_the_symmetric_verifier_but_does_not_hide_a_valid_v1()
    {
        var v1a = Vectors.GetProperty("collectorComputedVectors").GetProperty("cases").EnumerateArray()
            .Single(c => c.GetProperty("expectedSignature").GetString()!.StartsWith("v1a,", StringComparison.Ordinal))
            .GetProperty("expectedSignature").GetString()!;
        var v1 = Upstream.GetProperty("expectedSignature").GetString()!;

        Assert.False(StandardWebhookSignature.Verify(MessageId, Timestamp, Payload, v1a, [Secret]));
        Assert.True(StandardWebhookSignature.Verify(MessageId, Timestamp, Payload, $"{v1a} {v1}", [Secret]));
    }

    [Fact]
    public void The_spec_example_headers_parse_but_do_not_verify_under_the_test_secret()
    {
        // The spec's example was signed with an unpublished secret: parse-only.
        var example = Vectors.GetProperty("specExampleHeaders");
        var computed = Vectors.GetProperty("collectorComputedVectors").GetProperty("cases").EnumerateArray()
            .Single(c => c.GetProperty("desc").GetString()!.StartsWith("spec example", StringComparison.Ordinal));
        var payload = Encoding.UTF8.GetBytes(computed.GetProperty("payload").GetString()!);

        Assert.False(StandardWebhookSignature.Verify(
            example.GetProperty("webhook-id").GetString(), example.GetProperty("webhook-timestamp").GetString(), payload,
            example.GetProperty("webhook-signature").GetString(), [Secret], DateTimeOffset.FromUnixTimeSeconds(1674087231), TimeSpan.FromMinutes(5)));
        Assert.True(StandardWebhookSignature.Verify(
            example.GetProperty("webhook-id").GetString(), example.GetProperty("webhook-timestamp").GetString(), payload,
            example.GetProperty("webhook-signature").GetString() + " " + computed.GetProperty("expectedSignature").GetString(),
            [Secret], DateTimeOffset.FromUnixTimeSeconds(1674087231), TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void Flipping_any_bit_of_the_body_or_changing_the_id_or_timestamp_breaks_the_signature()
    {
        var header = StandardWebhookSignature.Sign(MessageId, Timestamp, Payload, [Secret]);
        for (var bit = 0; bit < Payload.Length * 8; bit++)
        {
            var mutated = (byte[])Payload.Clone();
            mutated[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(StandardWebhookSignature.Verify(MessageId, Timestamp, mutated, header, [Secret]), $"bit {bit}");
        }

        Assert.False(StandardWebhookSignature.Verify(MessageId + "x", Timestamp, Payload, header, [Secret]));
        Assert.False(StandardWebhookSignature.Verify(MessageId, Timestamp.AddSeconds(1), Payload, header, [Secret]));
        Assert.False(StandardWebhookSignature.Verify(MessageId, Timestamp, [.. Payload, (byte)' '], header, [Secret]));
    }

    [Fact]
    public void Two_secrets_give_two_signatures_in_order_and_either_secret_verifies_the_header()
    {
        var other = WebhookSecret.Generate();

        var header = StandardWebhookSignature.Sign(MessageId, Timestamp, Payload, [Secret, other]);

        var entries = header.Split(' ');
        Assert.Equal(2, entries.Length);
        Assert.Equal(Upstream.GetProperty("expectedSignature").GetString(), entries[0]);
        Assert.True(StandardWebhookSignature.Verify(MessageId, Timestamp, Payload, header, [Secret]));
        Assert.True(StandardWebhookSignature.Verify(MessageId, Timestamp, Payload, header, [other]));
        Assert.False(StandardWebhookSignature.Verify(MessageId, Timestamp, Payload, header, [WebhookSecret.Generate()]));
    }

    [Fact]
    public void Signing_needs_a_secret_and_an_id_without_dots()
    {
        Assert.Throws<ArgumentException>(() => StandardWebhookSignature.Sign(MessageId, Timestamp, Payload, []));
        Assert.Throws<ArgumentException>(() => StandardWebhookSignature.Sign("msg.1", Timestamp, Payload, [Secret]));
    }
}
