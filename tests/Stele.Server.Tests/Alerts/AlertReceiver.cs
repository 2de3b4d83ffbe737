using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Stele.Server.Tests.Delivery;

namespace Stele.Server.Tests.Alerts;

/// <summary>
/// A webhook receiver on real Kestrel whose answer the test changes while it runs (200, 503 with
/// Retry-After, 410…), and that can be started on a port chosen before, to play a receiver that
/// is down and then comes back.
/// </summary>
internal sealed class AlertReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<CapturedRequest> _requests = new();

    private AlertReceiver(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.Run(HandleAsync);
    }

    public int Status { get; set; } = 200;

    public string? RetryAfter { get; set; }

    public Uri Url { get; private set; } = null!;

    public IReadOnlyList<CapturedRequest> Requests => [.. _requests];

    public static async Task<AlertReceiver> StartAsync(int port = 0)
    {
        var receiver = new AlertReceiver(port);
        await receiver._app.StartAsync();
        var address = receiver._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Url = new Uri(address.TrimEnd('/') + "/hooks/stele");
        return receiver;
    }

    /// <summary>
    /// A loopback port nobody listens on (yet), below the kernel's ephemeral range (32768 and up), so
    /// no server of another test, bound to port 0, can be given it before this test binds it.
    /// </summary>
    public static int FreePort()
    {
        while (true)
        {
            var port = Random.Shared.Next(20_000, 30_000);
            try
            {
                using var socket = new System.Net.Sockets.TcpListener(IPAddress.Loopback, port);
                socket.Start();
                return port;
            }
            catch (System.Net.Sockets.SocketException)
            {
                // Taken; try another.
            }
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> requests arrived.</summary>
    public async Task<IReadOnlyList<CapturedRequest>> WaitForAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (_requests.Count < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"expected {count} webhook request(s), got {_requests.Count}");
            await Task.Delay(50);
        }

        return Requests;
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        _requests.Enqueue(new CapturedRequest(context.Request.Path + context.Request.QueryString, headers, body.ToArray()));
        context.Response.StatusCode = Status;
        if (RetryAfter is not null)
        {
            context.Response.Headers.RetryAfter = RetryAfter;
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
