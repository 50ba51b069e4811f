using System.Xml;

namespace PkiService.Core.Primitives;

/// <summary>ISO 8601 durations (<c>P90D</c>, <c>PT1H</c>) as used in the API and in configuration.</summary>
public static class IsoDuration
{
    /// <summary>Parses a positive ISO 8601 duration. Years and months are not accepted: their length is ambiguous.</summary>
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = default;
        if (string.IsNullOrWhiteSpace(text) || !text.StartsWith('P'))
        {
            return false;
        }
        var datePart = text.Split('T')[0];
        if (datePart.Contains('Y') || datePart.Contains('M'))
        {
            return false;
        }
        try
        {
            duration = XmlConvert.ToTimeSpan(text);
        }
        catch (FormatException)
        {
            return false;
        }
        catch (OverflowException)
        {
            return false;
        }
        return duration > TimeSpan.Zero;
    }

    /// <summary>Formats a duration in ISO 8601 (for example <c>P90D</c>).</summary>
    public static string Format(TimeSpan duration) => XmlConvert.ToString(duration);
}
