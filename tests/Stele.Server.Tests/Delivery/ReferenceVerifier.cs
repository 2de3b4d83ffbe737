using System.Diagnostics;
using System.Text.Json;

namespace Stele.Server.Tests.Delivery;

/// <summary>Runs the reference Standard Webhooks library (npm standardwebhooks) with node on one captured request.</summary>
internal static class ReferenceVerifier
{
    /// <summary>True when the library accepts the request under <paramref name="secret"/>; <c>Output</c> is its message.</summary>
    public static async Task<(bool Verified, string Output)> VerifyAsync(string secret, CapturedRequest request)
    {
        DeliveryEnvironment.Require(DeliveryDependency.StandardWebhooksVerifier);
        var file = Path.Combine(Path.GetTempPath(), $"stele-webhook-{Guid.NewGuid():N}.json");
        try
        {
            var headers = new Dictionary<string, string>
            {
                ["webhook-id"] = request.Headers["webhook-id"],
                ["webhook-timestamp"] = request.Headers["webhook-timestamp"],
                ["webhook-signature"] = request.Headers["webhook-signature"],
            };
            await File.WriteAllTextAsync(file, JsonSerializer.Serialize(new { secret, headers, bodyBase64 = Convert.ToBase64String(request.Body) }));

            var start = new ProcessStartInfo(DeliveryEnvironment.OnPath("node")!)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Delivery", "Verifier", "verify.cjs"));
            start.ArgumentList.Add(file);
            start.Environment["NODE_PATH"] = DeliveryEnvironment.NodeModules!;
            using var node = Process.Start(start)!;
            var output = node.StandardOutput.ReadToEndAsync();
            var error = node.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await node.WaitForExitAsync(timeout.Token);
            var text = ((await output) + (await error)).Trim();
            return (node.ExitCode == 0 && text == "verified", text);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
