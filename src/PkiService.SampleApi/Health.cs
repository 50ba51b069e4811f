using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace PkiService.SampleApi;

/// <summary>
/// The /health answer: the overall status, then one <c>name: status: why (data)</c> line per check, e.g.
/// <c>pki-revocation: Unhealthy: revocation stream down and CRL 7 past its nextUpdate at … (mode=Push, …)</c>;
/// 503 when unhealthy.
/// </summary>
internal static class Health
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        var lines = report.Entries.Select(e => $"{e.Key}: {e.Value.Status}: {e.Value.Description}"
            + (e.Value.Data.Count == 0 ? string.Empty : $" ({string.Join(", ", e.Value.Data.Select(d => $"{d.Key}={d.Value}"))})"));
        return context.Response.WriteAsync(string.Join('\n', [report.Status.ToString(), .. lines]) + "\n");
    }
}
