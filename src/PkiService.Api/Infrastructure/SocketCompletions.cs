using PkiService.Persistence;
using PkiService.Persistence.Sqlite;

namespace PkiService.Api.Infrastructure;

/// <summary>
/// Where the runtime runs the completion of a socket operation on Linux (issue 16, OCSP on a new connection per
/// request). By default .NET's socket event thread hands every completion to the thread pool: one more thread hop,
/// and one more context switch, per read and per accept. With <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>
/// the event thread runs it itself. Kestrel still dispatches request processing to the thread pool (its
/// <c>UnsafePreferInlineScheduling</c> stays off: measured 0.95x), so no endpoint code runs on the event thread;
/// continuations of the service's own outgoing connections (webhooks, SMTP, all asynchronous) do, up to their next await.
/// <para>
/// Only on SQLite. On PostgreSQL, EF Core and Npgsql also read synchronously (migrations at start, for one) on sockets
/// they use asynchronously too; on Linux such a read waits for the socket event thread, and when it runs on that very
/// thread (a continuation of an earlier asynchronous read) it waits for itself until Npgsql's timeout: a node hung at
/// start in the interop tests with it on.
/// </para>
/// </summary>
public static class SocketCompletions
{
    public const string InlineVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Turns inline completions on when the service runs on SQLite and the operator did not set
    /// <see cref="InlineVariable"/> (<c>0</c> keeps the runtime's default, <c>1</c> forces it). The runtime reads the
    /// variable once, when the first socket operation is made, so this runs before the host is built and only in the
    /// service's own process (a test host shares its process, and its sockets, with other hosts). Returns the value in
    /// effect (null: the runtime's default).
    /// </summary>
    public static string? PreferInline(IConfiguration configuration)
    {
        var set = Environment.GetEnvironmentVariable(InlineVariable);
        if (set is not null)
        {
            return set;
        }
        var provider = configuration[PkiDatabaseRegistration.ProviderKey];
        if (string.IsNullOrWhiteSpace(provider) || string.Equals(provider.Trim(), SqlitePkiDatabase.Name, StringComparison.OrdinalIgnoreCase))
        {
            Environment.SetEnvironmentVariable(InlineVariable, "1");
            return "1";
        }
        return null;
    }
}
