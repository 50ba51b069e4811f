using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace PkiService.Api.Infrastructure;

/// <summary>The <c>Metrics</c> configuration section.</summary>
public sealed class MetricsOptions
{
    public const string Section = "Metrics";

    /// <summary>
    /// Serves <c>/metrics</c> (Prometheus text format, no authentication) on the public listener. Turn it off, or
    /// restrict the path at the reverse proxy, where the listener is reachable by untrusted clients.
    /// </summary>
    public bool Enabled { get; set; } = true;
}

/// <summary>
/// <c>/metrics</c>: the <c>PkiService</c> meter (see <see cref="PkiMetrics"/>) plus ASP.NET Core's and Kestrel's, exported
/// by OpenTelemetry's Prometheus exporter (counters get <c>_total</c>, durations <c>_seconds</c>).
/// </summary>
public static class MetricsEndpoint
{
    public const string Path = "/metrics";

    private static readonly double[] DurationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    public static WebApplicationBuilder AddPkiMetrics(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.Configure<MetricsOptions>(builder.Configuration.GetSection(MetricsOptions.Section));
        services.AddSingleton<PkiMetrics>();
        var enabled = builder.Configuration.GetSection(MetricsOptions.Section).Get<MetricsOptions>()?.Enabled ?? true;
        if (enabled)
        {
            services.AddOpenTelemetry().WithMetrics(metrics => metrics
                .AddMeter(PkiMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel")
                .AddView("pki.ocsp.request.duration", new ExplicitBucketHistogramConfiguration { Boundaries = DurationBuckets })
                .AddView("pki.crl.build.duration", new ExplicitBucketHistogramConfiguration { Boundaries = DurationBuckets })
                // No response cache: the one costly gauge (expiring certificates) keeps its own 30 s cache.
                .AddPrometheusExporter(options => options.ScrapeResponseCacheDurationMilliseconds = 0));
        }
        return builder;
    }

    /// <summary>
    /// Maps <c>GET /metrics</c> unless <c>Metrics:Enabled</c> is false, and creates the meter now, before start-up
    /// issues anything, so that no measurement is missed.
    /// </summary>
    public static IEndpointRouteBuilder MapMetricsEndpoint(this IEndpointRouteBuilder app)
    {
        if (!app.ServiceProvider.GetRequiredService<IOptions<MetricsOptions>>().Value.Enabled)
        {
            return app;
        }
        // Resolving the MeterProvider starts its listener; resolving PkiMetrics creates the instruments it listens to.
        app.ServiceProvider.GetRequiredService<MeterProvider>();
        app.ServiceProvider.GetRequiredService<PkiMetrics>();
        app.MapPrometheusScrapingEndpoint(Path).AllowAnonymous();
        return app;
    }
}
