using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Stele.Server.Api;

namespace Stele.Server.Hosting;

/// <summary>Maps every failure to problem+json once: domain errors as they are, anything else as a logged 500.</summary>
internal static partial class ErrorHandling
{
    public static void UseSteleErrors(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Stele.Server.Errors");
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context).ConfigureAwait(false);
            }
            catch (ApiException problem) when (!context.Response.HasStarted)
            {
                await ProblemWriter.WriteAsync(context, problem).ConfigureAwait(false);
            }
            catch (BadHttpRequestException bad) when (!context.Response.HasStarted)
            {
                var problem = bad.StatusCode == StatusCodes.Status413PayloadTooLarge
                    ? ApiException.PayloadTooLarge("The request body is too large.")
                    : ApiException.Validation("The request is malformed.");
                await ProblemWriter.WriteAsync(context, problem).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                // The client went away; nothing to answer.
            }
            catch (Exception ex) when (!context.Response.HasStarted)
            {
                Log.Unhandled(logger, ex, context.Request.Method, context.Request.Path);
                await ProblemWriter.WriteAsync(context, new ApiException(500, "internal_error", "Internal error", "Stele failed to handle the request; the error is logged.")).ConfigureAwait(false);
            }
        });

        // Unknown routes and methods answer problem+json too.
        app.UseStatusCodePages(async status =>
        {
            var context = status.HttpContext;
            if (context.Response.StatusCode == 404)
            {
                await ProblemWriter.WriteAsync(context, ApiException.NotFound("No such route.")).ConfigureAwait(false);
            }
            else if (context.Response.StatusCode == 405)
            {
                await ProblemWriter.WriteAsync(context, new ApiException(405, "method_not_allowed", "Method not allowed", $"{context.Request.Method} is not allowed on this route.")).ConfigureAwait(false);
            }
        });
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 9001, Level = LogLevel.Error, Message = "Unhandled error on {Method} {Path}")]
        public static partial void Unhandled(ILogger logger, Exception exception, string method, string path);
    }
}
