using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace PkiService.Persistence.Postgres;

/// <summary>
/// LISTEN on a connection of its own (not pooled, so no other work ever runs on it and its session ends with it), for
/// <see cref="IPkiDatabase.ListenAsync"/>. PostgreSQL delivers a NOTIFY only to sessions that are listening when the
/// notifying transaction commits (https://www.postgresql.org/docs/current/sql-listen.html): whatever is announced
/// while this connection is down is lost for good, which is why the listener is told <see cref="IDatabaseListener.Lost"/>
/// at once and <see cref="IDatabaseListener.ListeningAsync"/> only after LISTEN is in effect again.
/// </summary>
/// <remarks>
/// A broken connection (the server restarted, the backend terminated with <c>pg_terminate_backend</c>, a reset TCP
/// connection) ends the wait with an exception at once. A connection that silently stops answering (a half-open TCP
/// connection after a network partition or a fail-over that kept the address) would never end it, so after
/// <see cref="IdleInterval"/> without a message the connection is pinged with <c>SELECT 1</c>, which must answer within
/// <see cref="PingTimeout"/>: such a loss is found within about five seconds. Reconnection backs off from
/// <see cref="FirstRetryDelay"/> to <see cref="MaxRetryDelay"/>.
/// </remarks>
public sealed partial class PostgresNotificationListener
{
    /// <summary>The application_name of the listening session when the connection string sets none.</summary>
    public const string DefaultApplicationName = "PkiService";

    /// <summary>Appended to the application name, so operators (and tests) can tell the listening session apart.</summary>
    public const string ApplicationNameSuffix = " listener";

    /// <summary>Without any message for this long, the connection is pinged.</summary>
    public static readonly TimeSpan IdleInterval = TimeSpan.FromSeconds(2);

    /// <summary>How long the ping (and LISTEN) may take before the connection counts as lost.</summary>
    public static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(3);

    /// <summary>The wait before the first reconnection attempt; doubled after each failed one.</summary>
    public static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest wait between reconnection attempts.</summary>
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    private readonly string _connectionString;
    private readonly string _where;
    private readonly ILogger _logger;

    /// <param name="connectionString">The node's connection string; pooling is turned off and the application name marked here.</param>
    /// <param name="where">Host, port and database for log lines (never the connection string: it may hold a password).</param>
    /// <param name="logger">Where losses and reconnections are logged.</param>
    public PostgresNotificationListener(string connectionString, string where, ILogger? logger)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        _connectionString = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Pooling = false,
            Multiplexing = false,
            Enlist = false,
            ApplicationName = ListenerApplicationName(builder.ApplicationName),
            CommandTimeout = (int)PingTimeout.TotalSeconds,
            // A timed-out ping on a dead connection must not wait for the cancellation request to be answered too.
            CancellationTimeout = -1,
            // Npgsql's own keepalive does not run while WaitAsync waits; the ping below replaces it.
            KeepAlive = 0,
        }.ConnectionString;
        _where = where;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>
    /// The application_name of the listening session: the connection string's <c>Application Name</c> (or
    /// <see cref="DefaultApplicationName"/>) followed by <see cref="ApplicationNameSuffix"/>, within PostgreSQL's 63 bytes.
    /// </summary>
    public static string ListenerApplicationName(string? configured)
    {
        var name = string.IsNullOrWhiteSpace(configured) ? DefaultApplicationName : configured.Trim();
        const int maxLength = 63;
        return name.Length + ApplicationNameSuffix.Length <= maxLength
            ? name + ApplicationNameSuffix
            : name[..(maxLength - ApplicationNameSuffix.Length)] + ApplicationNameSuffix;
    }

    /// <summary>Listens until <paramref name="cancellationToken"/> is cancelled; see <see cref="IPkiDatabase.ListenAsync"/>.</summary>
    public async Task RunAsync(IReadOnlyCollection<string> channels, IDatabaseListener listener, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channels);
        ArgumentNullException.ThrowIfNull(listener);
        var names = channels.Distinct(StringComparer.Ordinal).ToArray();
        foreach (var channel in names)
        {
            if (!ChannelName().IsMatch(channel))
            {
                throw new ArgumentException($"'{channel}' is not a notification channel name; use lower case letters, digits and underscores (at most 63).", nameof(channels));
            }
        }
        // Quoted, so the name is exactly what pg_notify(channel, ...) is given.
        var listen = string.Concat(names.Select(channel => $"LISTEN \"{channel}\";"));
        var delay = FirstRetryDelay;
        var attempts = 0; // connection attempts since LISTEN was last lost (0: never listened yet)
        var everListened = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            var listening = false;
            var received = new ConcurrentQueue<NpgsqlNotificationEventArgs>();
            try
            {
                await using var connection = new NpgsqlConnection(_connectionString);
                connection.Notification += (_, notification) => received.Enqueue(notification);
                await connection.OpenAsync(cancellationToken);
                if (names.Length > 0)
                {
                    await using var command = new NpgsqlCommand(listen, connection);
                    await command.ExecuteNonQueryAsync(cancellationToken);
                }
                listening = true;
                if (everListened)
                {
                    LogRestored(_logger, _where, attempts + 1);
                }
                else
                {
                    LogListening(_logger, _where, string.Join(", ", names));
                }
                everListened = true;
                attempts = 0;
                delay = FirstRetryDelay;
                // Announcements that arrive meanwhile wait in the queue and are dispatched after the catch-up, in order.
                await listener.ListeningAsync(cancellationToken);
                await using var ping = new NpgsqlCommand("SELECT 1", connection);
                while (true)
                {
                    await DispatchAsync(received, listener, cancellationToken);
                    if (!await connection.WaitAsync(IdleInterval, cancellationToken))
                    {
                        await ping.ExecuteScalarAsync(cancellationToken); // throws once PingTimeout passes without an answer
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    return; // stopping: whatever the connection reported on the way is no loss
                }
                if (listening)
                {
                    listener.Lost(); // first: from now on announcements may be missed
                    LogLost(_logger, _where, Reason(exception), exception);
                }
                else
                {
                    LogConnectFailed(_logger, _where, Reason(exception), delay.TotalMilliseconds);
                    attempts++;
                }
            }
            try
            {
                await Task.Delay(delay, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
        }
    }

    private static async Task DispatchAsync(ConcurrentQueue<NpgsqlNotificationEventArgs> received, IDatabaseListener listener, CancellationToken cancellationToken)
    {
        while (received.TryDequeue(out var notification))
        {
            await listener.NotifiedAsync(notification.Channel, notification.Payload, cancellationToken);
        }
    }

    /// <summary>The server's message (never the connection string), on one line.</summary>
    private static string Reason(Exception exception)
    {
        var text = exception is PostgresException postgres
            ? $"{postgres.SqlState}: {postgres.MessageText}"
            : exception.InnerException is { } inner && exception is NpgsqlException
                ? $"{exception.Message} ({inner.Message})"
                : exception.Message;
        return string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries));
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex ChannelName();

    [LoggerMessage(EventId = 9301, EventName = "DatabaseListening", Level = LogLevel.Information,
        Message = "Listening for cluster notifications on {Database}, channels {Channels}")]
    private static partial void LogListening(ILogger logger, string database, string channels);

    [LoggerMessage(EventId = 9302, EventName = "DatabaseListenerLost", Level = LogLevel.Warning,
        Message = "The notification connection to {Database} was lost ({Reason}); announcements may be missed until it is back, reconnecting")]
    private static partial void LogLost(ILogger logger, string database, string reason, Exception exception);

    [LoggerMessage(EventId = 9303, EventName = "DatabaseListenerConnectFailed", Level = LogLevel.Warning,
        Message = "Cannot listen for cluster notifications on {Database} ({Reason}); retrying in {DelayMilliseconds} ms")]
    private static partial void LogConnectFailed(ILogger logger, string database, string reason, double delayMilliseconds);

    [LoggerMessage(EventId = 9304, EventName = "DatabaseListenerRestored", Level = LogLevel.Information,
        Message = "Listening for cluster notifications on {Database} again, after {Attempts} connection attempt(s)")]
    private static partial void LogRestored(ILogger logger, string database, int attempts);
}
