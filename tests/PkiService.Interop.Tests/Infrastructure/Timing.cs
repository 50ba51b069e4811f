using Xunit.Abstractions;

namespace PkiService.Interop.Tests.Infrastructure;

/// <summary>Reports a measured duration (never asserted on) to the test output and as a <c>TIMING</c> line on stdout.</summary>
public static class Timing
{
    public static void Report(ITestOutputHelper output, string what, TimeSpan elapsed, string? detail = null)
    {
        var line = $"TIMING {what}: {elapsed.TotalMilliseconds:F0} ms{(detail is null ? "" : $" ({detail})")}";
        output.WriteLine(line);
        Console.WriteLine(line);
    }
}
