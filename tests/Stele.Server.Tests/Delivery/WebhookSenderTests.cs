using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Stele.Server.Configuration;
using Stele.Server.Delivery;

namespace Stele.Server.Tests.Delivery;

/// <summary>The webhook sender against a real Kestrel receiver on 127.0.0.1: what it sends, and how it reads each kind of answer.</summary>
public sealed class WebhookSenderTests : IAsyncLifetime
{
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"type":"alert.raised","data":{"rule":"new_country","reason":"Actor u_9 acted from DE for the first time"}}""");
    private static readonly DateTimeOffset Now = new(2026, 10, 21, 7, 26, 30, TimeSpan.Zero);

    private readonly WebhookSecret _secret = WebhookSecret.Generate();
    private readonly WebhookOptions _options = new() { Timeout = TimeSpan.FromSeconds(2), MaxRetryAfter = TimeSpan.FromMinutes(30), UserAgent = "Stele-Tests/1.0" };
    private readonly ListLogger<WebhookSender> _log = new();
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

    private WebhookSender Sender(TimeProvider? clock = null) => new(_http, clock ?? new FixedClock(Now), _options, _log);

    private Task<DeliveryResult> SendAsync(string pathAndQuery, TimeProvider? clock = null) =>
        Sender(clock).SendAsync(_receiver.Url(pathAndQuery), "msg_alert_42", Body, [_secret], CancellationToken.None);

    [Fact]
    public async Task A_2xx_answer_is_delivered_and_the_request_carries_the_standard_headers_and_the_exact_body()
    {
        var result = await SendAsync("status/200");

        Assert.Equal(DeliveryResultKind.Delivered, result.Kind);
        Assert.Equal(200, result.StatusCode);
        var request = Assert.Single(_receiver.Requests);
        Assert.Equal(Body, request.Body);
        Assert.Equal("msg_alert_42", request.Headers["webhook-id"]);
        Assert.Equal(Now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), request.Headers["webhook-timestamp"]);
        Assert.Equal("application/json", request.Headers["content-type"]);
        Assert.Equal("Stele-Tests/1.0", request.Headers["user-agent"]);
        var signature = request.Headers["webhook-signature"];
        Assert.StartsWith("v1,", signature, StringComparison.Ordinal);
        Assert.True(StandardWebhookSignature.Verify(request.Headers["webhook-id"], request.Headers["webhook-timestamp"], request.Body, signature, [_secret], Now, TimeSpan.FromMinutes(5)));
    }

    [Theory]
    [InlineData(201)]
    [InlineData(204)]
    [InlineData(299)]
    public async Task Every_2xx_status_counts_as_delivered(int status)
    {
        var result = await SendAsync($"status/{status}");

        Assert.Equal(DeliveryResultKind.Delivered, result.Kind);
        Assert.Equal(status, result.StatusCode);
    }

    [Fact]
    public async Task Each_secret_during_a_rotation_gets_its_own_signature_in_the_header()
    {
        var old = WebhookSecret.Generate();
        await Sender().SendAsync(_receiver.Url("status/200"), "msg_rotating", Body, [old, _secret], CancellationToken.None);

        var request = Assert.Single(_receiver.Requests);
        var entries = request.Headers["webhook-signature"].Split(' ');
        Assert.Equal(2, entries.Length);
        Assert.True(StandardWebhookSignature.Verify("msg_rotating", Now, request.Body, entries[0], [old]));
        Assert.True(StandardWebhookSignature.Verify("msg_rotating", Now, request.Body, entries[1], [_secret]));
        Assert.False(StandardWebhookSignature.Verify("msg_rotating", Now, request.Body, entries[0], [_secret]));
    }

    [Fact]
    public async Task A_410_means_the_receiver_is_gone()
    {
        var result = await SendAsync("status/410");

        Assert.Equal(DeliveryResultKind.Gone, result.Kind);
        Assert.Equal(410, result.StatusCode);
    }

    [Fact]
    public async Task A_503_with_Retry_After_in_seconds_is_retried_after_that_wait()
    {
        var result = await SendAsync("status/503?retry-after=120");

        Assert.Equal(DeliveryResultKind.RetryLater, result.Kind);
        Assert.Equal(503, result.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(120), result.RetryAfter);
    }

    [Fact]
    public async Task A_503_with_Retry_After_as_an_HTTP_date_is_retried_after_the_time_until_that_date()
    {
        var date = Uri.EscapeDataString(Now.AddSeconds(90).ToString("r", CultureInfo.InvariantCulture));

        var result = await SendAsync($"status/503?retry-after={date}");

        Assert.Equal(DeliveryResultKind.RetryLater, result.Kind);
        Assert.Equal(TimeSpan.FromSeconds(90), result.RetryAfter);
    }

    [Fact]
    public async Task A_Retry_After_date_in_the_past_means_retry_now()
    {
        var date = Uri.EscapeDataString(Now.AddHours(-1).ToString("r", CultureInfo.InvariantCulture));

        var result = await SendAsync($"status/503?retry-after={date}");

        Assert.Equal(TimeSpan.Zero, result.RetryAfter);
    }

    [Fact]
    public async Task A_Retry_After_longer_than_the_maximum_honoured_is_cut_to_the_maximum()
    {
        var result = await SendAsync("status/429?retry-after=86400");

        Assert.Equal(DeliveryResultKind.RetryLater, result.Kind);
        Assert.Equal(_options.MaxRetryAfter, result.RetryAfter);
        Assert.Contains("asked 86400 s", result.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(408)]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(504)]
    public async Task Timeouts_rate_limits_and_server_errors_are_retried_later(int status)
    {
        var result = await SendAsync($"status/{status}");

        Assert.Equal(DeliveryResultKind.RetryLater, result.Kind);
        Assert.Equal(status, result.StatusCode);
        Assert.Null(result.RetryAfter);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(404)]
    [InlineData(422)]
    public async Task Other_4xx_answers_fail_for_good_and_the_response_body_is_neither_reported_nor_logged(int status)
    {
        var result = await SendAsync($"status/{status}?body=RESPONSE-BODY-SECRET");

        Assert.Equal(DeliveryResultKind.Failed, result.Kind);
        Assert.Equal(status, result.StatusCode);
        Assert.DoesNotContain("RESPONSE-BODY-SECRET", result.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("RESPONSE-BODY-SECRET", _log.All, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(301)]
    [InlineData(302)]
    [InlineData(307)]
    [InlineData(308)]
    public async Task A_redirect_is_not_followed_and_fails(int status)
    {
        var result = await SendAsync($"status/{status}?location=%2Fstatus%2F200");

        Assert.Equal(DeliveryResultKind.Failed, result.Kind);
        Assert.Equal(status, result.StatusCode);
        Assert.Single(_receiver.Requests);
    }

    [Fact]
    public async Task A_redirect_followed_by_a_client_that_allows_redirects_still_fails()
    {
        using var following = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = true });
        var sender = new WebhookSender(following, new FixedClock(Now), _options, _log);

        var result = await sender.SendAsync(_receiver.Url("status/307?location=%2Fstatus%2F200"), "msg_redirected", Body, [_secret], CancellationToken.None);

        Assert.Equal(2, _receiver.Requests.Count);
        Assert.Equal(DeliveryResultKind.Failed, result.Kind);
    }

    [Fact]
    public async Task A_receiver_that_never_answers_times_out_and_is_retried_later()
    {
        var watch = Stopwatch.StartNew();

        var result = await SendAsync("hang");

        Assert.Equal(DeliveryResultKind.RetryLater, result.Kind);
        Assert.Null(result.StatusCode);
        Assert.Contains("no response within 2 s", result.Detail, StringComparison.Ordinal);
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task A_closed_port_is_retried_later()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var result = await Sender().SendAsync(new Uri($"http://127.0.0.1:{port}/hook"), "msg_refused", Body, [_secret], CancellationToken.None);

        Assert.Equal(DeliveryResultKind.RetryLater, result.Kind);
        Assert.Null(result.StatusCode);
        Assert.Contains("ConnectionRefused", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_name_that_does_not_resolve_is_retried_later()
    {
        // RFC 6761: .invalid never resolves.
        var result = await Sender().SendAsync(new Uri("http://stele-receiver.invalid/hook"), "msg_unresolved", Body, [_secret], CancellationToken.None);

        Assert.Equal(DeliveryResultKind.RetryLater, result.Kind);
        Assert.Null(result.StatusCode);
    }

    [Fact]
    public async Task An_endpoint_URL_that_is_not_http_fails_without_a_request()
    {
        var result = await Sender().SendAsync(new Uri("ftp://127.0.0.1/hook"), "msg_ftp", Body, [_secret], CancellationToken.None);

        Assert.Equal(DeliveryResultKind.Failed, result.Kind);
        Assert.Empty(_receiver.Requests);
    }

    [Fact]
    public async Task Cancelling_the_caller_token_throws_instead_of_reporting_a_result()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Sender().SendAsync(_receiver.Url("hang"), "msg_cancelled", Body, [_secret], cancel.Token));
    }

    [Theory]
    [InlineData("msg.with.dots")]
    [InlineData("msg with space")]
    [InlineData("")]
    public async Task A_message_id_the_signature_scheme_cannot_carry_is_refused(string messageId)
    {
        await Assert.ThrowsAnyAsync<ArgumentException>(() =>
            Sender().SendAsync(_receiver.Url("status/200"), messageId, Body, [_secret], CancellationToken.None));
        Assert.Empty(_receiver.Requests);
    }

    [Fact]
    public async Task The_log_names_the_message_but_never_the_endpoint_URL_the_secret_or_the_body()
    {
        await SendAsync("status/200?token=endpoint-path-token");
        await SendAsync("status/503?token=endpoint-path-token");

        var log = _log.All;
        Assert.Contains("msg_alert_42", log, StringComparison.Ordinal);
        Assert.DoesNotContain("endpoint-path-token", log, StringComparison.Ordinal);
        Assert.DoesNotContain(_secret.Text["whsec_".Length..], log, StringComparison.Ordinal);
        Assert.DoesNotContain("new_country", log, StringComparison.Ordinal);
    }
}
