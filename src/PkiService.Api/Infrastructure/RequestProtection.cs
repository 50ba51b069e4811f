using System.Globalization;
using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.RateLimiting;

namespace PkiService.Api.Infrastructure;

/// <summary>The <c>RateLimits</c> configuration section: per client IP, fixed windows.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary>Enrollment calls per IP per minute.</summary>
    public int EnrollmentPerMinute { get; set; } = 300;

    /// <summary>Failed authentications (401) per IP per minute; past it every credentialed call from that IP gets 429.</summary>
    public int AuthenticationFailuresPerMinute { get; set; } = 30;

    /// <summary>OCSP, CRL and CA certificate requests per IP per second (generous: gateways call on every handshake).</summary>
    public int PublicPerSecond { get; set; } = 5000;

    /// <summary>Whole-request timeout in seconds.</summary>
    public int RequestTimeoutSeconds { get; set; } = 30;
}

/// <summary>
/// Limits on what a client can make the service do: rate limits (built-in rate limiter), a ceiling on every request
/// body, request timeouts, and security headers on every answer.
/// </summary>
public static class RequestProtection
{
    public const string EnrollmentPolicy = "enrollment";
    public const string PublicPolicy = "public";

    /// <summary>No request body anywhere may exceed this; endpoints set smaller limits of their own.</summary>
    public const long MaxRequestBodyBytes = 1024 * 1024;

    public static WebApplicationBuilder AddRequestProtection(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(RateLimitOptions.Section).Get<RateLimitOptions>() ?? new RateLimitOptions();
        builder.Services.Configure<RateLimitOptions>(builder.Configuration.GetSection(RateLimitOptions.Section));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes);

        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = (context, cancellationToken) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                return new ValueTask(WriteTooManyRequestsAsync(context.HttpContext, retryAfter));
            };
            limiter.AddPolicy(EnrollmentPolicy, http => RateLimitPartition.GetFixedWindowLimiter(
                ClientKey(http),
                _ => new FixedWindowRateLimiterOptions { PermitLimit = options.EnrollmentPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
            limiter.AddPolicy(PublicPolicy, http => RateLimitPartition.GetFixedWindowLimiter(
                ClientKey(http),
                _ => new FixedWindowRateLimiterOptions { PermitLimit = options.PublicPerSecond, Window = TimeSpan.FromSeconds(1), QueueLimit = 0 }));
        });
        builder.Services.AddSingleton(new AuthenticationFailureThrottle(options.AuthenticationFailuresPerMinute));
        builder.Services.AddRequestTimeouts(timeouts => timeouts.DefaultPolicy = new RequestTimeoutPolicy
        {
            Timeout = TimeSpan.FromSeconds(options.RequestTimeoutSeconds),
            TimeoutStatusCode = StatusCodes.Status503ServiceUnavailable,
        });
        return builder;
    }

    public static WebApplication UseRequestProtection(this WebApplication app)
    {
        app.Use(SecurityHeadersAsync);
        app.UseMiddleware<AuthenticationFailureThrottleMiddleware>();
        app.UseRateLimiter();
        app.UseRequestTimeouts();
        return app;
    }

    /// <summary>The partition key: the client's IP address.</summary>
    public static string ClientKey(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    public static Task WriteTooManyRequestsAsync(HttpContext http, TimeSpan retryAfter)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return Results.Problem(
            statusCode: StatusCodes.Status429TooManyRequests,
            title: "Too many requests from this address",
            detail: $"Retry after {seconds} s.").ExecuteAsync(http);
    }

    private static Task SecurityHeadersAsync(HttpContext http, Func<Task> next)
    {
        http.Response.OnStarting(() =>
        {
            var headers = http.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            // Answers are data, never pages: nothing may run or be framed. Swagger UI gets the policy it works under.
            headers.ContentSecurityPolicy = http.Request.Path.StartsWithSegments("/swagger")
                ? SwaggerSetup.ContentSecurityPolicy
                : "default-src 'none'; frame-ancestors 'none'";
            if (http.Request.Path.StartsWithSegments("/api") && !headers.ContainsKey("Cache-Control"))
            {
                headers.CacheControl = "no-store"; // answers may carry tokens, keys or inventory
            }
            return Task.CompletedTask;
        });
        return next();
    }
}

/// <summary>Counts failed authentications (401 answers) per client IP in fixed one-minute windows.</summary>
public sealed class AuthenticationFailureThrottle(int failuresPerMinute)
{
    private readonly PartitionedRateLimiter<string> _failures = PartitionedRateLimiter.Create<string, string>(ip =>
        RateLimitPartition.GetFixedWindowLimiter(ip, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = failuresPerMinute,
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
        }));

    /// <summary>True when this IP has used up its failures for the current window.</summary>
    public bool IsBlocked(string ip) => _failures.GetStatistics(ip) is { CurrentAvailablePermits: <= 0 };

    /// <summary>Counts one failure.</summary>
    public void RecordFailure(string ip) => _failures.AttemptAcquire(ip).Dispose();
}

/// <summary>Answers 429 to credentialed calls from an IP that failed authentication too often; counts each 401.</summary>
public sealed class AuthenticationFailureThrottleMiddleware(RequestDelegate next, AuthenticationFailureThrottle throttle)
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    public async Task InvokeAsync(HttpContext http)
    {
        var ip = RequestProtection.ClientKey(http);
        var credentialed = http.Request.Headers.ContainsKey("Authorization") || http.Connection.ClientCertificate is not null;
        if (credentialed && throttle.IsBlocked(ip))
        {
            await RequestProtection.WriteTooManyRequestsAsync(http, Window);
            return;
        }
        await next(http);
        if (http.Response.StatusCode == (int)HttpStatusCode.Unauthorized)
        {
            throttle.RecordFailure(ip);
        }
    }
}
