using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Stele.Server.Tests.Delivery;

/// <summary>One request the receiver got: its path and query, its headers (lower-case names) and its body bytes.</summary>
internal sealed record CapturedRequest(string PathAndQuery, IReadOnlyDictionary<string, string> Headers, byte[] Body);

/// <summary>
/// A real webhook receiver on Kestrel at 127.0.0.1 (a free port) that records every request and answers as
/// its path says: <c>/status/{code}</c> with optional <c>?retry-after=…&amp;location=…&amp;body=…</c>, or
/// <c>/hang</c>, which never answers.
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<CapturedRequest> _requests;

    private WebhookReceiver(WebApplication app, ConcurrentQueue<CapturedRequest> requests, Uri baseAddress)
    {
        _app = app;
        _requests = requests;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public IReadOnlyList<CapturedRequest> Requests => [.. _requests];

    public Uri Url(string pathAndQuery) => new(BaseAddress, pathAndQuery);

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var requests = new ConcurrentQueue<CapturedRequest>();
        app.Run(context => HandleAsync(context, requests));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new WebhookReceiver(app, requests, new Uri(address.TrimEnd('/') + "/"));
    }

    private static async Task HandleAsync(HttpContext context, ConcurrentQueue<CapturedRequest> requests)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        requests.Enqueue(new CapturedRequest(context.Request.Path + context.Request.QueryString, headers, body.ToArray()));

        var path = context.Request.Path.Value ?? string.Empty;
        if (path == "/hang")
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
            return;
        }

        if (!path.StartsWith("/status/", StringComparison.Ordinal) || !int.TryParse(path["/status/".Length..], CultureInfo.InvariantCulture, out var status))
        {
            context.Response.StatusCode = 404;
            return;
        }

        context.Response.StatusCode = status;
        var query = context.Request.Query;
        if (query.TryGetValue("retry-after", out var retryAfter))
        {
            context.Response.Headers.RetryAfter = retryAfter.ToString();
        }

        if (query.TryGetValue("location", out var location))
        {
            context.Response.Headers.Location = location.ToString();
        }

        if (query.TryGetValue("body", out var text))
        {
            await context.Response.WriteAsync(text.ToString(), context.RequestAborted);
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
