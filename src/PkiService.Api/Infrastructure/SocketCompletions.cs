namespace PkiService.Api.Infrastructure;

/// <summary>
/// Where the runtime runs the completion of a socket operation on Linux (issue 16, OCSP on a new connection per
/// request). By default .NET's socket event thread hands every completion to the thread pool: one more thread hop,
/// and one more context switch, per read and per accept. With <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>
/// the event thread runs it itself. Kestrel still dispatches request processing to the thread pool (its
/// <c>UnsafePreferInlineScheduling</c> stays off), so no endpoint code runs on the event thread; continuations of the
/// service's own outgoing connections (PostgreSQL, webhooks, SMTP) do, up to their next await.
/// </summary>
public static class SocketCompletions
{
    public const string InlineVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Turns inline completions on unless the operator set <see cref="InlineVariable"/> (to <c>0</c> to keep the
    /// runtime's default). The runtime reads the variable once, when the first socket is made, so this runs before the
    /// host is built.
    /// </summary>
    public static void PreferInline()
    {
        if (Environment.GetEnvironmentVariable(InlineVariable) is null)
        {
            Environment.SetEnvironmentVariable(InlineVariable, "1");
        }
    }
}
