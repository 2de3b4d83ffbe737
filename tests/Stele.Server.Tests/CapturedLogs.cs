using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Stele.Server.Tests;

/// <summary>
/// A logger provider that keeps every entry the server writes (message, structured values and
/// exception), for tests that count log events or search the logs for what must not be there.
/// </summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<Entry> _entries = new();

    /// <summary>One log entry: <see cref="Text"/> is everything a log sink could write out.</summary>
    public sealed record Entry(string Category, LogLevel Level, EventId EventId, string Message, IReadOnlyList<KeyValuePair<string, object?>> Values, string? Exception)
    {
        public string Text =>
            $"{Category} {EventId.Id} {Message} {string.Join(' ', Values.Select(v => $"{v.Key}={v.Value}"))} {Exception}";

        public object? Value(string name) => Values.FirstOrDefault(v => v.Key == name).Value;
    }

    public IReadOnlyList<Entry> Entries => [.. _entries];

    /// <summary>Logging set-up for <see cref="TestServer.StartAsync"/>: Stele's own categories at <paramref name="stele"/>, everything else at <paramref name="others"/>.</summary>
    public Action<ILoggingBuilder> Configure(LogLevel stele = LogLevel.Trace, LogLevel others = LogLevel.Warning) => builder =>
    {
        builder.SetMinimumLevel(others);
        builder.AddFilter("Stele", stele);
        builder.AddProvider(this);
    };

    public void Clear() => _entries.Clear();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state as IReadOnlyList<KeyValuePair<string, object?>> ?? [];
            owner._entries.Enqueue(new Entry(category, logLevel, eventId, formatter(state, exception), [.. values], exception?.ToString()));
        }
    }
}
