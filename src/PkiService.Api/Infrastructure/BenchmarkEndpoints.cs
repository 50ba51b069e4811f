namespace PkiService.Api.Infrastructure;

/// <summary>
/// The load test's ceiling: <c>POST /bench/static</c> answers fixed bytes through the same pipeline as <c>/ocsp</c>
/// (same middleware, same rate-limit policy), so "cached OCSP / static" isolates the responder's own cost.
/// Off unless <c>Benchmark:StaticEndpoint=true</c>; never enable it in production.
/// </summary>
public static class BenchmarkEndpoints
{
    private static readonly byte[] StaticBody = new byte[700]; // about the size of a signed OCSP response with its certificate

    public static IEndpointRouteBuilder MapBenchmarkEndpoints(this IEndpointRouteBuilder app, IConfiguration configuration)
    {
        if (configuration.GetValue("Benchmark:StaticEndpoint", false))
        {
            app.MapPost("/bench/static", () => Results.Bytes(StaticBody, "application/ocsp-response"))
                .ExcludeFromDescription()
                .AllowAnonymous()
                .RequireRateLimiting(RequestProtection.PublicPolicy);
        }
        return app;
    }
}
