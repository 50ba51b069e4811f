using System.Globalization;

namespace PkiService.Api.Tests.Support;

/// <summary>Reads samples out of a Prometheus text exposition (version 0.0.4), enough for assertions.</summary>
public static class PrometheusText
{
    /// <summary>
    /// The value of the sample named <paramref name="name"/> whose labels include every pair in <paramref name="labels"/>;
    /// null when there is none.
    /// </summary>
    public static double? Value(string exposition, string name, params (string Name, string Value)[] labels)
    {
        foreach (var line in exposition.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            var nameEnd = line.IndexOfAny(['{', ' ']);
            if (nameEnd < 0 || line[..nameEnd] != name)
            {
                continue;
            }
            var labelText = line[nameEnd] == '{' ? line[(nameEnd + 1)..line.LastIndexOf('}')] : string.Empty;
            if (labels.All(l => labelText.Contains($"{l.Name}=\"{l.Value}\"", StringComparison.Ordinal)))
            {
                return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }
        return null;
    }
}
