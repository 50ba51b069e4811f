using PkiService.Api.Infrastructure;
using PkiService.Core.Errors;
using PkiService.Persistence;

namespace PkiService.Api.Features.Est;

/// <summary>
/// EST refusals: RFC 7030 4.2.3 asks for human-readable <c>text/plain</c> errors, which EST clients print as they are,
/// so an EST endpoint answers the service's errors as one line of text with the status the REST API uses for them
/// (and the same wording as the REST problem's title), never problem+json and never a stack trace. Every 401 carries
/// <c>WWW-Authenticate: Basic realm="PkiService EST"</c> (RFC 7030 3.2.3, RFC 7617), for token and certificate
/// authentication alike, so clients that wait for a challenge before sending credentials work.
/// </summary>
public static partial class EstErrors
{
    /// <summary>The realm of the Basic challenge.</summary>
    public const string Challenge = "Basic realm=\"PkiService EST\"";

    public const string TextMediaType = "text/plain; charset=utf-8";

    /// <summary>The endpoint filter: turns the service's exceptions into text answers.</summary>
    public static async ValueTask<object?> FilterAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !context.HttpContext.RequestAborted.IsCancellationRequested)
        {
            return Answer(context.HttpContext, exception);
        }
    }

    /// <summary>A text error answer.</summary>
    public static IResult Text(int status, string message) => new TextError(status, message);

    private static IResult Answer(HttpContext http, Exception exception)
    {
        var (status, message) = exception switch
        {
            AuthenticationFailedException e => (StatusCodes.Status401Unauthorized, e.Message),
            CsrRejectedException e => (StatusCodes.Status400BadRequest, e.Message),
            InvalidRequestException e => (StatusCodes.Status400BadRequest, e.Message),
            PolicyRefusedException e => (StatusCodes.Status403Forbidden, e.Message),
            NotFoundException e => (StatusCodes.Status404NotFound, e.Message),
            ConflictException e => (StatusCodes.Status409Conflict, e.Message),
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } =>
                (StatusCodes.Status413PayloadTooLarge, $"The request body is too large; an EST request carries one CSR, at most {Issuance.CsrRequestRules.MaxBodyBytes} bytes."),
            BadHttpRequestException e => (e.StatusCode, e.Message),
            ServiceStoppingException e => (StatusCodes.Status503ServiceUnavailable, e.Message),
            _ when http.RequestServices.GetRequiredService<IPkiDatabase>().Classify(exception) is not null =>
                (StatusCodes.Status503ServiceUnavailable, "The database is not available; retry later"),
            _ => (StatusCodes.Status500InternalServerError, "An unexpected error occurred"),
        };
        if (status >= 500)
        {
            LogFailed(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(EstErrors)), exception, http.Request.Method, http.Request.Path);
        }
        return Text(status, message);
    }

    [LoggerMessage(EventId = 13001, EventName = "EstRequestFailed", Level = LogLevel.Error,
        Message = "EST request {Method} {Path} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string method, string path);

    private sealed class TextError(int status, string message) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => status;

        public Task ExecuteAsync(HttpContext http)
        {
            http.Response.StatusCode = status;
            var headers = http.Response.Headers;
            if (status == StatusCodes.Status401Unauthorized)
            {
                headers.WWWAuthenticate = Challenge;
            }
            if (status == StatusCodes.Status503ServiceUnavailable)
            {
                headers.RetryAfter = "5";
            }
            headers.CacheControl = "no-store";
            http.Response.ContentType = TextMediaType;
            // One line: clients print it as it is. Written without a Content-Length (chunked), on purpose: Bouncy Castle
            // Java 1.72's EST client drops the first 401 (the challenge) unread and fails with "Stream closed before limit
            // fully read" when it has a Content-Length body, but handles a chunked one (seen by the BC interop tests).
            return http.Response.WriteAsync(message.ReplaceLineEndings(" ") + "\n");
        }
    }
}
