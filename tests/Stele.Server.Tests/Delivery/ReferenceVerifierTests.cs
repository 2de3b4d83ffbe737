using System.Text;
using Stele.Server.Configuration;
using Stele.Server.Delivery;

namespace Stele.Server.Tests.Delivery;

/// <summary>
/// What the sender put on the wire, as captured by a real receiver, checked by an independent implementation:
/// the reference Standard Webhooks library for JavaScript. It checks the timestamp against its own clock,
/// so these sends use the real one.
/// </summary>
public sealed class ReferenceVerifierTests : IAsyncLifetime
{
    private readonly WebhookOptions _options = new() { Timeout = TimeSpan.FromSeconds(10) };
    private WebhookReceiver _receiver = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _receiver = await WebhookReceiver.StartAsync();
        _http = WebhookSender.CreateHttpClient(_options);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _receiver.DisposeAsync();
    }

    private async Task<CapturedRequest> SendAsync(string messageId, string body, params WebhookSecret[] secrets)
    {
        var sender = new WebhookSender(_http, TimeProvider.System, _options);
        var result = await sender.SendAsync(_receiver.Url("status/204"), messageId, Encoding.UTF8.GetBytes(body), secrets, CancellationToken.None);
        Assert.Equal(DeliveryResultKind.Delivered, result.Kind);
        return _receiver.Requests[^1];
    }

    [DeliveryFact(DeliveryDependency.StandardWebhooksVerifier)]
    public async Task The_reference_library_verifies_a_webhook_the_sender_sent()
    {
        var secret = WebhookSecret.Generate();
        var request = await SendAsync("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", """{"type":"alert.raised","data":{"rule":"high_volume_destructive"}}""", secret);

        var (verified, output) = await ReferenceVerifier.VerifyAsync(secret.Text, request);

        Assert.True(verified, output);
    }

    [DeliveryFact(DeliveryDependency.StandardWebhooksVerifier)]
    public async Task During_a_secret_rotation_the_reference_library_verifies_with_the_old_and_with_the_new_secret()
    {
        var old = WebhookSecret.Generate();
        var current = WebhookSecret.Generate();
        var request = await SendAsync("msg_rotation", """{"type":"alert.raised"}""", old, current);

        var withOld = await ReferenceVerifier.VerifyAsync(old.Text, request);
        var withNew = await ReferenceVerifier.VerifyAsync(current.Text, request);

        Assert.True(withOld.Verified, withOld.Output);
        Assert.True(withNew.Verified, withNew.Output);
    }

    [DeliveryFact(DeliveryDependency.StandardWebhooksVerifier)]
    public async Task The_reference_library_verifies_a_body_with_non_ASCII_text_as_its_UTF8_bytes()
    {
        var secret = WebhookSecret.Generate();
        var request = await SendAsync("msg_utf8", """{"actor":"Zoë","note":"😀 ünïcödé"}""", secret);

        var (verified, output) = await ReferenceVerifier.VerifyAsync(secret.Text, request);

        Assert.True(verified, output);
    }

    [DeliveryFact(DeliveryDependency.StandardWebhooksVerifier)]
    public async Task The_reference_library_rejects_the_webhook_under_another_secret_or_with_a_changed_body()
    {
        var secret = WebhookSecret.Generate();
        var request = await SendAsync("msg_negative", """{"type":"alert.raised"}""", secret);

        var otherSecret = await ReferenceVerifier.VerifyAsync(WebhookSecret.Generate().Text, request);
        var changedBody = await ReferenceVerifier.VerifyAsync(secret.Text, request with { Body = Encoding.UTF8.GetBytes("""{"type":"alert.raisEd"}""") });

        Assert.False(otherSecret.Verified, otherSecret.Output);
        Assert.Contains("No matching signature", otherSecret.Output, StringComparison.Ordinal);
        Assert.False(changedBody.Verified, changedBody.Output);
    }
}
