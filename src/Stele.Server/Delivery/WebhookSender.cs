using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Stele.Server.Configuration;

namespace Stele.Server.Delivery;

/// <summary>
/// Sends one webhook attempt per the Standard Webhooks specification: a JSON POST with
/// <c>webhook-id</c>, <c>webhook-timestamp</c> and <c>webhook-signature</c> (one <c>v1</c> signature per
/// secret), no redirects followed, and the answer sorted into a <see cref="DeliveryResult"/>. The
/// response body is never read. Thread-safe; one instance serves every endpoint.
/// </summary>
internal sealed partial class WebhookSender
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly HttpClient _http;
    private readonly TimeProvider _clock;
    private readonly WebhookOptions _options;
    private readonly ILogger _logger;

    /// <param name="http">
    /// A client that does not follow redirects, such as <see cref="CreateHttpClient"/> makes; a redirect
    /// that a client followed anyway is still reported as <see cref="DeliveryResultKind.Failed"/>.
    /// </param>
    public WebhookSender(HttpClient http, TimeProvider clock, WebhookOptions options, ILogger<WebhookSender>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _clock = clock;
        _options = options;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>
    /// The HTTP client webhooks should go out with: redirects and cookies off, no decompression, connections
    /// renewed every few minutes (so a receiver's DNS change is seen), and no client-wide timeout (each
    /// attempt has its own). Proxies come from the usual environment variables, so an egress proxy that
    /// filters internal addresses can be put in front (the specification's advice against SSRF).
    /// </summary>
    public static HttpClient CreateHttpClient(WebhookOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.Timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        return new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
    }

    /// <summary>
    /// One attempt. <paramref name="messageId"/> is the same on every attempt of one message (receivers
    /// dedupe on it); the timestamp is the attempt's. Returns the outcome; throws only for invalid arguments
    /// and when <paramref name="ct"/> is cancelled.
    /// </summary>
    public async Task<DeliveryResult> SendAsync(Uri url, string messageId, ReadOnlyMemory<byte> jsonBody, IReadOnlyList<WebhookSecret> secrets, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(url);
        StandardWebhookSignature.ValidateMessageId(messageId);
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            return Report(messageId, DeliveryResult.Failed(null, "the endpoint URL is not an absolute http or https URL"));
        }

        var timestamp = _clock.GetUtcNow();
        var signature = StandardWebhookSignature.Sign(messageId, timestamp, jsonBody.Span, secrets);

        using var request = new HttpRequestMessage(HttpMethod.Post, url);
        request.Headers.Add("webhook-id", messageId);
        request.Headers.Add("webhook-timestamp", timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", signature);
        request.Headers.TryAddWithoutValidation("User-Agent", _options.UserAgent);
        request.Content = new ReadOnlyMemoryContent(jsonBody);
        request.Content.Headers.ContentType = Json;

        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
        attempt.CancelAfter(_options.Timeout);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attempt.Token).ConfigureAwait(false);
            return Report(messageId, Classify(url, response));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return Report(messageId, DeliveryResult.RetryLater(null, $"no response within {Seconds(_options.Timeout)} s"));
        }
        catch (HttpRequestException ex)
        {
            return Report(messageId, DeliveryResult.RetryLater(null, Describe(ex)));
        }
    }

    private DeliveryResult Classify(Uri url, HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        if (response.RequestMessage?.RequestUri is { } final && final != url)
        {
            return DeliveryResult.Failed(status, "the HTTP client followed a redirect; webhooks must not follow redirects");
        }

        return status switch
        {
            >= 200 and <= 299 => DeliveryResult.Delivered(status, $"HTTP {status}"),
            410 => DeliveryResult.Gone(status, "HTTP 410: the receiver asked to stop"),
            408 or 429 or (>= 500 and <= 599) => RetryLaterWithRetryAfter(status, response),
            >= 300 and <= 399 => DeliveryResult.Failed(status, $"HTTP {status}: redirects are not followed; update the endpoint URL"),
            _ => DeliveryResult.Failed(status, $"HTTP {status}"),
        };
    }

    private DeliveryResult RetryLaterWithRetryAfter(int status, HttpResponseMessage response)
    {
        var asked = RetryAfter(response.Headers.RetryAfter);
        if (asked is not { } wait)
        {
            return DeliveryResult.RetryLater(status, $"HTTP {status}");
        }

        var bounded = wait > _options.MaxRetryAfter ? _options.MaxRetryAfter : wait;
        var note = bounded < wait ? $" (asked {Seconds(wait)} s)" : string.Empty;
        return DeliveryResult.RetryLater(status, $"HTTP {status}; Retry-After {Seconds(bounded)} s{note}", bounded);
    }

    /// <summary>RFC 9110 §10.2.3: delay-seconds, or an HTTP-date taken relative to now (a past date means now).</summary>
    private TimeSpan? RetryAfter(RetryConditionHeaderValue? header)
    {
        if (header?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - _clock.GetUtcNow();
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }

    // Names the kind of failure, never the host, the URL or the server's text.
    private static string Describe(HttpRequestException ex)
    {
        var socket = FindInner<SocketException>(ex);
        return ex.HttpRequestError switch
        {
            HttpRequestError.NameResolutionError => "the host name did not resolve",
            HttpRequestError.ConnectionError when socket is not null => $"could not connect ({socket.SocketErrorCode})",
            HttpRequestError.ConnectionError => "could not connect",
            HttpRequestError.SecureConnectionError => "the TLS handshake failed",
            HttpRequestError.ResponseEnded => "the connection closed before a complete response",
            HttpRequestError.InvalidResponse => "the response was not valid HTTP",
            _ => $"the request failed ({ex.HttpRequestError})",
        };
    }

    private static T? FindInner<T>(Exception ex)
        where T : Exception
    {
        for (var current = ex.InnerException; current is not null; current = current.InnerException)
        {
            if (current is T found)
            {
                return found;
            }
        }

        return null;
    }

    private static string Seconds(TimeSpan value) => Math.Ceiling(value.TotalSeconds).ToString(CultureInfo.InvariantCulture);

    private DeliveryResult Report(string messageId, DeliveryResult result)
    {
        switch (result.Kind)
        {
            case DeliveryResultKind.Delivered:
                Log.Delivered(_logger, messageId, result.Detail);
                break;
            case DeliveryResultKind.RetryLater:
                Log.WillRetry(_logger, messageId, result.Detail);
                break;
            default:
                Log.Refused(_logger, messageId, result.Kind, result.Detail);
                break;
        }

        return result;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6001, Level = LogLevel.Debug, Message = "Webhook {MessageId} delivered: {Detail}")]
        public static partial void Delivered(ILogger logger, string messageId, string detail);

        [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "Webhook {MessageId} not delivered, to be retried: {Detail}")]
        public static partial void WillRetry(ILogger logger, string messageId, string detail);

        [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Webhook {MessageId} refused ({Kind}): {Detail}")]
        public static partial void Refused(ILogger logger, string messageId, DeliveryResultKind kind, string detail);
    }
}
