using System.Text.Json.Serialization;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using PkiService.Api.Features.Crl;
using PkiService.Api.Features.Ocsp;
using PkiService.Core.Ocsp;
using PkiService.Persistence;

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

        services.AddDbContext<PkiDbContext>((provider, options) =>
        {
            var pki = provider.GetRequiredService<IOptions<PkiOptions>>().Value;
            options.UsePkiSqlite(SqliteDatabase.ConnectionString(pki.DataDirectoryFullPath));
        });

        services.AddSingleton(CaKeyVault.Create);
        services.AddSingleton(CaHierarchyFactory.Create);
        services.AddSingleton(CaHierarchyFactory.CreateIssuingAuthority);

        services.Configure<CrlOptions>(builder.Configuration.GetSection(CrlOptions.Section));
        services.AddSingleton<CrlPublisher>();
        services.AddHostedService<CrlRefreshJob>();

        services.Configure<OcspOptions>(builder.Configuration.GetSection(OcspOptions.Section));
        services.AddSingleton<ICertificateStatusSource, DatabaseCertificateStatusSource>();
        services.AddSingleton<OcspResponseCache>();
        services.AddSingleton<OcspResponderSet>();
        services.AddSingleton<OcspRequestAnswerer>();
        services.AddHostedService<OcspResponderRenewalJob>();

        services.AddMediator((MediatorOptions options) =>
        {
            options.ServiceLifetime = ServiceLifetime.Scoped;
            options.PipelineBehaviors = [typeof(ValidationBehavior<,>)];
        });
        services.AddValidatorsFromAssemblyContaining<Program>(ServiceLifetime.Singleton);

        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(ApiPolicies.Admin, policy => policy.RequireAuthenticatedUser().RequireRole(ApiRoles.Admin));

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
            .AddCheck<CaKeysHealthCheck>("ca-keys", tags: ["ready"]);

        services.AddPkiSwagger();
        return builder;
    }

    public static WebApplication UsePkiPipeline(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UsePkiSwagger();
        return app;
    }

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).WithTags("Health");
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") }).WithTags("Health");
        return app;
    }
}
