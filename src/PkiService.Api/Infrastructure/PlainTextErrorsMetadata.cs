namespace PkiService.Api.Infrastructure;

/// <summary>
/// Endpoint metadata: this endpoint's clients read errors as one line of <c>text/plain</c>, not problem+json (EST,
/// RFC 7030 4.2.3: "the server SHOULD include text/plain human-readable error messages"). Honoured by the answers
/// written outside the endpoint's own handler, such as the rate limiter's 429.
/// </summary>
public sealed class PlainTextErrorsMetadata
{
    public static readonly PlainTextErrorsMetadata Instance = new();

    /// <summary>True when the endpoint <paramref name="http"/> was routed to asks for text errors.</summary>
    public static bool AppliesTo(HttpContext http) => http.GetEndpoint()?.Metadata.GetMetadata<PlainTextErrorsMetadata>() is not null;
}
