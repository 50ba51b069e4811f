using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace PkiService.SampleApi;

/// <summary>The /health answer: the overall status, then one <c>name: status: why</c> line per check (503 unless healthy).</summary>
internal static class Health
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        var lines = report.Entries.Select(e => $"{e.Key}: {e.Value.Status}: {e.Value.Description}");
        return context.Response.WriteAsync(string.Join('\n', [report.Status.ToString(), .. lines]) + "\n");
    }
}
