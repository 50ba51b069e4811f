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

    /// <summary>Parses a configuration value, or stops the start with a message naming the setting.</summary>
    /// <param name="value">The configured text.</param>
    /// <param name="setting">The full setting name, such as <c>Crl:Validity</c>.</param>
    public static TimeSpan ParseSetting(string value, string setting) => TryParse(value, out var duration)
        ? duration
        : throw new InvalidOperationException($"{setting} = '{value}' is not an ISO 8601 duration such as P1D, PT6H or PT30S.");

    /// <summary>Formats a duration in ISO 8601 (for example <c>P90D</c>).</summary>
    public static string Format(TimeSpan duration) => XmlConvert.ToString(duration);
}
