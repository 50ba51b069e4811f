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

    /// <summary>Renewal calls (<c>POST /api/v1/renew</c> on the mTLS listener) per IP per minute.</summary>
    public int RenewalPerMinute { get; set; } = 120;

    /// <summary>
    /// Failed authentications (401) per (IP, presented credential) per minute; past it that credential gets 429 from that
    /// IP, while other credentials from the same IP still work.
    /// </summary>
    public int AuthenticationFailuresPerMinute { get; set; } = 30;

    /// <summary>
    /// Failed authentications per IP per minute, whatever credentials were presented (so rotating them does not give
    /// unlimited attempts); past it every credentialed call from that IP gets 429. Default: ten times
    /// <see cref="AuthenticationFailuresPerMinute"/>.
    /// </summary>
    public int? AuthenticationFailuresPerAddressPerMinute { get; set; }

    public int EffectiveAuthenticationFailuresPerAddressPerMinute =>
        AuthenticationFailuresPerAddressPerMinute ?? (int)Math.Min(int.MaxValue, 10L * AuthenticationFailuresPerMinute);

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
    public const string RenewalPolicy = "renewal";

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
            // Renewals (POST /api/v1/renew and EST simplereenroll on the mTLS listener): every one, refused or not,
            // costs a chain build and a database read.
            limiter.AddPolicy(RenewalPolicy, http => RateLimitPartition.GetFixedWindowLimiter(
                ClientKey(http),
                _ => new FixedWindowRateLimiterOptions { PermitLimit = options.RenewalPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
            limiter.AddPolicy(PublicPolicy, http => RateLimitPartition.GetFixedWindowLimiter(
                ClientKey(http),
                _ => new FixedWindowRateLimiterOptions { PermitLimit = options.PublicPerSecond, Window = TimeSpan.FromSeconds(1), QueueLimit = 0 }));
        });
        builder.Services.AddSingleton(provider => new AuthenticationFailureThrottle(
            options.AuthenticationFailuresPerMinute, options.EffectiveAuthenticationFailuresPerAddressPerMinute, provider.GetRequiredService<TimeProvider>()));
        builder.AddTrustedProxies();
        builder.Services.AddRequestTimeouts(timeouts => timeouts.DefaultPolicy = new RequestTimeoutPolicy
        {
            Timeout = TimeSpan.FromSeconds(options.RequestTimeoutSeconds),
            TimeoutStatusCode = StatusCodes.Status503ServiceUnavailable,
        });
        return builder;
    }

    public static WebApplication UseRequestProtection(this WebApplication app)
    {
        // First: the throttle, the rate limits and the audit trail all see the client address it establishes.
        app.UseTrustedProxies();
        app.Use(SecurityHeadersAsync);
        app.UseMiddleware<AuthenticationFailureThrottleMiddleware>();
        app.UseRateLimiter();
        app.UseRequestTimeouts();
        return app;
    }

    /// <summary>
    /// The partition key: the client's IP address (the one a trusted proxy forwarded, when <c>ForwardedHeaders</c> names
    /// proxies; see <see cref="TrustedProxies"/>). An IPv6 client is keyed by its /64: one subscriber or host is routinely
    /// given a whole /64 (RFC 6177), so keying by full address would hand it 2^64 separate budgets and let it grow the
    /// limiters' partition tables at will. An IPv4-mapped IPv6 address is keyed as the IPv4 address it carries.
    /// </summary>
    public static string ClientKey(HttpContext http) => ClientKey(http.Connection.RemoteIpAddress);

    /// <inheritdoc cref="ClientKey(HttpContext)"/>
    public static string ClientKey(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4().ToString();
        }
        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6 || IPAddress.IsLoopback(address))
        {
            return address.ToString();
        }
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }

    public static Task WriteTooManyRequestsAsync(HttpContext http, TimeSpan retryAfter, string title = "Too many requests from this address")
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        if (PlainTextErrorsMetadata.AppliesTo(http))
        {
            return Results.Text($"{title}; retry after {seconds} s.", "text/plain; charset=utf-8", statusCode: StatusCodes.Status429TooManyRequests).ExecuteAsync(http);
        }
        return Results.Problem(
            statusCode: StatusCodes.Status429TooManyRequests,
            title: title,
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
