using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace PkiService.AspNetCore.Tests.Support;

/// <summary>A logger provider that keeps every event with its structured fields, to assert on refusals.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<Entry> _entries = new();

    public sealed record Entry(string Category, LogLevel Level, string EventName, string Message, IReadOnlyDictionary<string, object?> Fields);

    public IReadOnlyList<Entry> Entries => [.. _entries];

    /// <summary>
    /// The <c>Reason</c> of every PkiClientCertificateRefused event so far. A refused handshake may appear more than
    /// once: HttpClient retries a request whose connection failed before any response.
    /// </summary>
    public IReadOnlyList<string> RefusalReasons =>
        [.. Entries.Where(e => e.EventName == "PkiClientCertificateRefused").Select(e => (string)e.Fields["Reason"]!)];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var fields = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? pairs.ToDictionary(p => p.Key, p => p.Value)
                : new Dictionary<string, object?>();
            owner._entries.Enqueue(new Entry(category, logLevel, eventId.Name ?? "", formatter(state, exception) + (exception is null ? "" : " | " + exception), fields));
        }
    }
}
