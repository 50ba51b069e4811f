using Microsoft.AspNetCore.Authorization;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace PkiService.Api.Infrastructure;

/// <summary>Swagger UI is the admin console: on by default, also in Production; <c>Swagger:Enabled=false</c> turns it off.</summary>
public static class SwaggerSetup
{
    public const string BearerScheme = "bearer";

    /// <summary>
    /// The Content-Security-Policy of <c>/swagger</c>: Swagger UI's own scripts, styles and images (its CSS embeds
    /// <c>data:</c> images) and calls to this origin only; no inline script, no eval, no framing, no forms elsewhere.
    /// The one inline style allowed, by its hash, is the <c>&lt;style&gt;</c> of Swagger UI's logo SVG
    /// (<c>.logo_small_svg__cls-2{fill:#fff}.logo_small_svg__cls-3{fill:#85ea2d}</c>); if a Swashbuckle upgrade changes
    /// it, SwaggerUiBrowserTests reports the violation. The admin key typed into Authorize stays in the page's memory
    /// (no <c>persistAuthorization</c>): nothing in localStorage for another script or a later user of the browser to read.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; "
        + "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>
    /// Marks an endpoint that takes <c>Authorization: Bearer</c> without the API key authorization policy (enrollment
    /// takes a one-time token), so the OpenAPI document gives it the bearer requirement too.
    /// </summary>
    public static readonly object BearerCredentialMetadata = new BearerCredential();

    public static IServiceCollection AddPkiSwagger(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(options =>
        {
            options.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "PkiService",
                Version = "v1",
                Description = "Private CA for mutual TLS: one-time enrollment tokens and CSR enrollment, renewal over mTLS, "
                    + "certificate inventory and revocation, CRLs and OCSP for gateways, expiry warnings, API keys and a "
                    + "hash-chained audit trail. /pki/*, /ocsp and /health/* are public; operations with a lock need "
                    + "Authorize with an API key (POST /api/v1/enroll: the enrollment token); POST /api/v1/renew is served "
                    + "only on the mTLS listener.",
            });
            options.AddSecurityDefinition(BearerScheme, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "An API key (admin, enroller or auditor); for POST /api/v1/enroll, a one-time enrollment token.",
            });
            options.OperationFilter<BearerRequirementFilter>();
            var xml = Path.Combine(AppContext.BaseDirectory, "PkiService.Api.xml");
            if (File.Exists(xml))
            {
                options.IncludeXmlComments(xml);
            }
        });
        return services;
    }

    public static WebApplication UsePkiSwagger(this WebApplication app)
    {
        if (!app.Configuration.GetValue("Swagger:Enabled", true))
        {
            return app;
        }
        app.UseSwagger();
        app.UseSwaggerUI(options =>
        {
            options.SwaggerEndpoint("/swagger/v1/swagger.json", "PkiService v1");
            options.RoutePrefix = "swagger";
            options.DocumentTitle = "PkiService admin console";
        });
        return app;
    }

    private sealed class BearerCredential;

    /// <summary>
    /// The bearer requirement (Swagger UI's lock) on exactly the operations that take a credential: those behind an
    /// authorization policy and those marked with <see cref="BearerCredentialMetadata"/>. Public ones have none.
    /// </summary>
    private sealed class BearerRequirementFilter : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            var metadata = context.ApiDescription.ActionDescriptor.EndpointMetadata;
            var authorized = metadata.OfType<IAuthorizeData>().Any() && !metadata.OfType<IAllowAnonymous>().Any();
            if (!authorized && !metadata.Contains(BearerCredentialMetadata))
            {
                return;
            }
            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [],
            });
        }
    }
}
