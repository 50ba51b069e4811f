using FluentValidation;
using Microsoft.AspNetCore.Diagnostics;
using PkiService.Core.Errors;
using PkiService.Persistence;

namespace PkiService.Api.Infrastructure;

/// <summary>
/// The one place that turns exceptions into RFC 9457 problem details. Known errors get their status and a
/// message that says how to fix the input; anything else is a 500 without internals.
/// </summary>
public sealed partial class ProblemExceptionHandler(IProblemDetailsService problemDetails, IPkiDatabase database, ILogger<ProblemExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            ValidationException => (StatusCodes.Status400BadRequest, "The request is not valid", "See 'errors' for each field."),
            InvalidRequestException e => (StatusCodes.Status400BadRequest, e.Message, null),
            CsrRejectedException e => (StatusCodes.Status400BadRequest, e.Message, null),
            PolicyRefusedException e => (StatusCodes.Status403Forbidden, e.Message, null),
            NotFoundException e => (StatusCodes.Status404NotFound, e.Message, null),
            ConflictException e => (StatusCodes.Status409Conflict, e.Message, null),
            AuthenticationFailedException e => (StatusCodes.Status401Unauthorized, e.Message, null),
            BadHttpRequestException e => (e.StatusCode, BadRequestTitle(e), null),
            ServiceStoppingException e => (StatusCodes.Status503ServiceUnavailable, e.Message, null),
            // The database being read-only, full, locked, damaged or unreachable is the operator's to fix, not the
            // caller's: 503, retry later, whatever kind of failure the provider reports.
            _ when database.Classify(exception) is not null =>
                (StatusCodes.Status503ServiceUnavailable, "The database is not available; retry later", (string?)null),
            _ => (StatusCodes.Status500InternalServerError, "An unexpected error occurred", null),
        };
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            httpContext.Response.Headers.RetryAfter = RetryAfterSeconds;
        }
        if (status >= 500)
        {
            LogUnhandled(logger, exception, httpContext.Request.Method, httpContext.Request.Path);
        }
        if (status == StatusCodes.Status401Unauthorized)
        {
            httpContext.Response.Headers.WWWAuthenticate = "Bearer";
        }

        httpContext.Response.StatusCode = status;
        var problem = exception is ValidationException validation
            ? new HttpValidationProblemDetails(validation.Errors
                .GroupBy(e => JsonName(e.PropertyName))
                .ToDictionary(g => g.Key, g => g.Select(e => e.ErrorMessage).ToArray()))
            : new Microsoft.AspNetCore.Mvc.ProblemDetails();
        problem.Status = status;
        problem.Title = title;
        problem.Detail = detail;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = problem,
            Exception = exception,
        });
    }

    private const string RetryAfterSeconds = "5";

    private static string BadRequestTitle(BadHttpRequestException exception) => exception.StatusCode switch
    {
        StatusCodes.Status413PayloadTooLarge => "The request body is too large",
        StatusCodes.Status415UnsupportedMediaType => "Send the body as 'Content-Type: application/json'",
        _ when exception.InnerException is System.Text.Json.JsonException json =>
            $"The request body is not the JSON this call expects (syntax or type error at '{json.Path ?? "$"}'); see the schema in /swagger",
        _ => exception.Message,
    };

    private static string JsonName(string propertyName) =>
        string.IsNullOrEmpty(propertyName) ? propertyName : char.ToLowerInvariant(propertyName[0]) + propertyName[1..];

    [LoggerMessage(EventId = 9000, EventName = "UnhandledException", Level = LogLevel.Error,
        Message = "Unhandled exception for {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}
