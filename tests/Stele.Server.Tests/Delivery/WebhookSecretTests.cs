using Stele.Server.Delivery;

namespace Stele.Server.Tests.Delivery;

public sealed class WebhookSecretTests
{
    [Fact]
    public void A_generated_secret_is_32_random_bytes_behind_whsec_and_parses_back_to_itself()
    {
        var secret = WebhookSecret.Generate();

        Assert.StartsWith("whsec_", secret.Text, StringComparison.Ordinal);
        Assert.Equal(32, Convert.FromBase64String(secret.Text["whsec_".Length..]).Length);
        Assert.True(WebhookSecret.TryParse(secret.Text, out var parsed, out _));
        Assert.Equal(secret.Key.ToArray(), parsed!.Key.ToArray());
        Assert.NotEqual(secret.Text, WebhookSecret.Generate().Text);
    }

    [Fact]
    public void Its_string_form_never_shows_the_key()
    {
        var secret = WebhookSecret.Generate();

        Assert.Equal("whsec_[redacted]", secret.ToString());
        Assert.DoesNotContain(secret.Text["whsec_".Length..], $"{secret}", StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "empty")]
    [InlineData("", "empty")]
    [InlineData("whsec_", "empty")]
    [InlineData("whsec_not*base64!", "base64")]
    [InlineData("whsec_MfKQ9r8GKYqr TwjUPD8ILPZIo2LaLaSw", "base64")]
    [InlineData("whsec_MDEyMzQ1Njc4OWFiY2RlZg==", "16 bytes")]
    public void A_malformed_or_too_short_secret_is_refused_with_a_reason_that_does_not_repeat_it(string? text, string reason)
    {
        Assert.False(WebhookSecret.TryParse(text, out var secret, out var error));
        Assert.Null(secret);
        Assert.Contains(reason, error, StringComparison.Ordinal);
        if (!string.IsNullOrEmpty(text) && text.Length > "whsec_".Length)
        {
            Assert.DoesNotContain(text["whsec_".Length..], error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(24, true)]
    [InlineData(64, true)]
    [InlineData(23, false)]
    [InlineData(65, false)]
    public void The_key_is_24_to_64_bytes_as_the_specification_requires(int bytes, bool accepted)
    {
        var text = "whsec_" + Convert.ToBase64String(new byte[bytes]);

        Assert.Equal(accepted, WebhookSecret.TryParse(text, out _, out _));
    }
}
