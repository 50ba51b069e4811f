using System.Globalization;
using System.Numerics;

namespace PkiService.Api.Features.RevocationStream;

/// <summary>
/// Where a client resumes: the <c>Last-Event-ID</c> request header (WHATWG HTML 9.2.4), or the query parameter
/// <c>lastEventId</c> for clients that cannot set headers; the header wins. Its value is a complete CRL number.
/// </summary>
/// <param name="IsPresent">The client sent one (a non-empty value): it wants a replay.</param>
/// <param name="CrlNumber">The CRL number, when the value is one (decimal digits, at most <see cref="MaxDigits"/>).</param>
public readonly record struct LastEventId(bool IsPresent, BigInteger? CrlNumber)
{
    /// <summary>A CRL number is at most 20 octets (RFC 5280 5.2.3): 49 decimal digits.</summary>
    public const int MaxDigits = 49;

    public const string HeaderName = "Last-Event-ID";

    public const string QueryName = "lastEventId";

    /// <summary>
    /// Reads the request's value. Never fails: a value that is not a CRL number (garbage, too long, negative) is present
    /// but unknown, so the client gets a full replay. An empty value counts as absent (an event source that has no id
    /// sends none).
    /// </summary>
    public static LastEventId From(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var value = request.Headers.TryGetValue(HeaderName, out var header) && !string.IsNullOrWhiteSpace(header.ToString())
            ? header.ToString()
            : request.Query[QueryName].ToString();
        return Parse(value);
    }

    /// <summary>Parses one value as <see cref="From"/> does.</summary>
    public static LastEventId Parse(string? value)
    {
        var text = value?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            return new LastEventId(false, null);
        }
        return text.Length <= MaxDigits && text.All(char.IsAsciiDigit)
            && BigInteger.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            ? new LastEventId(true, number)
            : new LastEventId(true, null);
    }
}
