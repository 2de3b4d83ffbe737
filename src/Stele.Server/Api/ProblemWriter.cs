using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Stele.Server.Api;

/// <summary>Writes RFC 9457 problem documents. The one place where domain errors become HTTP.</summary>
internal static class ProblemWriter
{
    public const string ContentType = "application/problem+json";
    private const string TypeBase = "https://stele.dev/problems/";

    public static async Task WriteAsync(HttpContext context, ApiException problem)
    {
        var response = context.Response;
        response.StatusCode = problem.Status;
        response.ContentType = ContentType;
        if (problem.RetryAfterSeconds is { } retry)
        {
            response.Headers.RetryAfter = retry.ToString(CultureInfo.InvariantCulture);
        }

        if (problem.Status == 401)
        {
            response.Headers.WWWAuthenticate = "Bearer";
        }

        await using var writer = new Utf8JsonWriter(response.Body);
        WriteBody(writer, problem, context.Request.Path);
        await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    public static void WriteBody(Utf8JsonWriter writer, ApiException problem, string? instance)
    {
        writer.WriteStartObject();
        writer.WriteString("type", TypeBase + problem.Code);
        writer.WriteString("title", problem.Title);
        writer.WriteNumber("status", problem.Status);
        writer.WriteString("detail", problem.Message);
        writer.WriteString("error", problem.Code);
        if (instance is not null)
        {
            writer.WriteString("instance", instance);
        }

        if (problem.Errors.Count > 0)
        {
            writer.WriteStartArray("errors");
            foreach (var error in problem.Errors)
            {
                writer.WriteStartObject();
                writer.WriteString("field", error.Field);
                writer.WriteString("message", error.Message);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }
}
