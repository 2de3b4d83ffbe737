using System.Collections.Concurrent;
using System.Net;

namespace Stele.EndToEnd.Tests.Alerts;

/// <summary>A real HTTP receiver (HttpListener on loopback) that records requests and answers <see cref="Answer"/>, holding them open while it is null.</summary>
internal sealed class LoopbackReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _loop;

    public LoopbackReceiver(HttpStatusCode? answer)
    {
        Answer = answer;
        var port = FreePort();
        Url = $"http://127.0.0.1:{port}/hook/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public string Url { get; }

    public HttpStatusCode? Answer { get; set; }

    public Task FirstRequest => _first.Task;

    public ConcurrentQueue<(string WebhookId, string Body)> Requests { get; } = new();

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using var reader = new StreamReader(context.Request.InputStream);
                Requests.Enqueue((context.Request.Headers["webhook-id"] ?? string.Empty, await reader.ReadToEndAsync()));
                _first.TrySetResult();
                while (Answer is null)
                {
                    await Task.Delay(50);
                }

                context.Response.StatusCode = (int)Answer.Value;
                context.Response.Close();
            });
        }
    }

    private static int FreePort()
    {
        var socket = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        var port = ((IPEndPoint)socket.LocalEndpoint).Port;
        socket.Stop();
        return port;
    }

    public void Dispose()
    {
        Answer ??= HttpStatusCode.ServiceUnavailable;
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
