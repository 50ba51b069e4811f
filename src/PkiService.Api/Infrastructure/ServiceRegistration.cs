using System.Text.Json.Serialization;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using PkiService.Api.Features.Crl;
using PkiService.Api.Features.Expiry;
using PkiService.Api.Features.Ocsp;
using PkiService.Api.Features.Renewal;
using PkiService.Api.Features.RevocationStream;
using PkiService.Core.Ocsp;
using PkiService.Persistence;
using PkiService.Api.Audit;
using PkiService.Api.Authentication;
using PkiService.Api.Issuance;
using PkiService.Api.Revocation;

namespace PkiService.Api.Infrastructure;

/// <summary>Every service registration of the web host, in one place.</summary>
public static class ServiceRegistration
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    public static WebApplicationBuilder AddPkiServices(this WebApplicationBuilder builder)
    {
        if (string.IsNullOrEmpty(builder.Configuration["urls"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        var services = builder.Services;
        services.Configure<PkiOptions>(builder.Configuration.GetSection(PkiOptions.Section));
        services.Configure<AdminOptions>(builder.Configuration.GetSection(AdminOptions.Section));
        services.AddSingleton(TimeProvider.System);

        services.AddPkiDatabase(builder.Configuration, provider => provider.GetRequiredService<IOptions<PkiOptions>>().Value.DataDirectoryFullPath);

        services.AddHttpContextAccessor();
        services.AddAuditTrail();
        services.AddAnonymousFailureAudit(builder.Configuration);

        services.AddSingleton(CaKeyVault.Create);
        services.AddSingleton(CaHierarchyFactory.Create);
        services.AddSingleton(CaHierarchyFactory.CreateIssuingAuthority);
        services.AddScoped<CertificateIssuer>();
        services.AddScoped<TokenIssuance>();
        services.AddScoped<CertificateRenewal>();
        services.AddOptions<RenewalKeyOptions>()
            .Bind(builder.Configuration.GetSection(RenewalKeyOptions.Section))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RenewalKeyOptions>, RenewalKeyOptions.Validator>();
        services.AddSingleton<ClientCertificateSource>();
        services.AddSingleton<IssuanceCommitter>();
        services.AddHostedService(provider => provider.GetRequiredService<IssuanceCommitter>());

        builder.AddCrl();

        services.Configure<ExpiryOptions>(builder.Configuration.GetSection(ExpiryOptions.Section));
        services.Configure<NotificationOptions>(builder.Configuration.GetSection(NotificationOptions.Section));
        WebhookChannel.AddHttpClient(services);
        services.AddSingleton<IExpiryWarningChannel, WebhookChannel>();
        services.AddSingleton<IExpiryWarningChannel, EmailChannel>();
        services.AddScoped<ExpiryScanner>();
        services.AddScoped<ExpiryWarningDispatcher>();
        services.AddHostedService<ExpiryWarningJob>();

        builder.AddOcsp();
        builder.AddRevocationStream();
        // Revocations on other nodes sharing the database reach this node's caches (PostgreSQL LISTEN/NOTIFY).
        services.AddCertificateStatusAnnouncements();
        services.AddClusterNotificationListener();

        builder.AddMtlsListener();

        services.AddMediator((MediatorOptions options) =>
        {
            options.ServiceLifetime = ServiceLifetime.Scoped;
            options.PipelineBehaviors = [typeof(ValidationBehavior<,>)];
        });
        services.AddValidatorsFromAssemblyContaining<Program>(ServiceLifetime.Singleton);

        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        // AddAuthentication registers ASP.NET Core Data Protection, whose hosted service would create an unencrypted key
        // ring under $HOME at every start. Nothing here uses it (bearer secrets are hashed in the database; no cookies,
        // no antiforgery), so that start-up work, its files and its memory are dropped.
        foreach (var dataProtectionStart in services.Where(descriptor => descriptor.ServiceType == typeof(IHostedService)
            && descriptor.ImplementationType?.FullName == "Microsoft.AspNetCore.DataProtection.Internal.DataProtectionHostedService").ToList())
        {
            services.Remove(dataProtectionStart);
        }
        services.AddAuthorizationBuilder()
            .AddPolicy(ApiPolicies.Admin, policy => policy.RequireAuthenticatedUser().RequireRole(ApiRoles.Admin))
            .AddPolicy(ApiPolicies.Enroll, policy => policy.RequireAuthenticatedUser().RequireRole(ApiRoles.Admin, ApiRoles.Enroller))
            .AddPolicy(ApiPolicies.Read, policy => policy.RequireAuthenticatedUser().RequireRole(ApiRoles.Admin, ApiRoles.Auditor));

        services.AddProblemDetails();
        services.AddExceptionHandler<ProblemExceptionHandler>();
        // Binding failures (broken JSON, wrong types, oversized bodies) reach ProblemExceptionHandler with their reason.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.Configure<JsonOptions>(options =>
        {
            options.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
            options.SerializerOptions.MaxDepth = 32;
        });

        services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("database", tags: ["ready"])
            .AddCheck<CaKeysHealthCheck>("ca-keys", tags: ["ready"])
            .AddCheck<CrlFreshnessHealthCheck>("crl", tags: ["ready"])
            .AddCheck<OcspResponderHealthCheck>("ocsp-responder", tags: ["ready"])
            .AddCheck<Features.RootCrl.RootCrlHealthCheck>("root-crl", tags: ["ready"]);

        builder.AddPkiMetrics();
        services.AddPkiSwagger();
        builder.AddRequestProtection();
        return builder;
    }

    public static WebApplication UsePkiPipeline(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRequestProtection();
        app.UseMtlsListenerGate();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UsePkiSwagger();
        return app;
    }

    /// <summary>
    /// Health endpoints as route handlers (not <c>MapHealthChecks</c>, whose endpoints the API explorer cannot see) so that
    /// the OpenAPI document lists them. The answer is the health check middleware's: the status as text, 503 when unhealthy, never cached.
    /// </summary>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        var health = app.MapGroup("/health").WithTags("Health").AllowAnonymous();
        health.MapGet("/live", (HttpContext context, HealthCheckService checks, CancellationToken cancellationToken) =>
                HealthReportAsync(context, checks, _ => false, cancellationToken))
            .WithName("Live")
            .WithSummary("Liveness: the process answers HTTP")
            .Produces<string>(StatusCodes.Status200OK, "text/plain");
        health.MapGet("/ready", (HttpContext context, HealthCheckService checks, CancellationToken cancellationToken) =>
                HealthReportAsync(context, checks, check => check.Tags.Contains("ready"), cancellationToken))
            .WithName("Ready")
            .WithSummary("Readiness: the database answers, the issuing CA key can sign, the CRLs are before nextUpdate and the OCSP responder certificates are valid")
            .WithDescription("503 when not ready, with one line per failing check after the status: '<check>: <reason>'.")
            .Produces<string>(StatusCodes.Status200OK, "text/plain")
            .Produces<string>(StatusCodes.Status503ServiceUnavailable, "text/plain");
        return app;
    }

    private static async Task<ContentHttpResult> HealthReportAsync(
        HttpContext context, HealthCheckService checks, Func<HealthCheckRegistration, bool> predicate, CancellationToken cancellationToken)
    {
        var report = await checks.CheckHealthAsync(predicate, cancellationToken);
        context.Response.Headers.CacheControl = "no-store, no-cache";
        var status = report.Status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
        // The status alone when healthy; otherwise one line per failing check, so the operator sees why.
        var reasons = report.Entries
            .Where(e => e.Value.Status != HealthStatus.Healthy)
            .Select(e => $"\n{e.Key}: {e.Value.Description}");
        return TypedResults.Text(report.Status + string.Concat(reasons), "text/plain", statusCode: status);
    }
}
