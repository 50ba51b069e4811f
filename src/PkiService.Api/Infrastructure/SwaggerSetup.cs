using Microsoft.OpenApi;

namespace PkiService.Api.Infrastructure;

/// <summary>Swagger UI is the admin console: on by default, also in Production; <c>Swagger:Enabled=false</c> turns it off.</summary>
public static class SwaggerSetup
{
    public const string BearerScheme = "bearer";

    public static IServiceCollection AddPkiSwagger(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(options =>
        {
            options.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "PkiService",
                Version = "v1",
                Description = "Private CA for mTLS client certificates: enrollment with one-time tokens, certificate inventory, CA certificates.",
            });
            options.AddSecurityDefinition(BearerScheme, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "An admin API key; for POST /api/v1/enroll, a one-time enrollment token.",
            });
            options.AddSecurityRequirement(document => new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference(BearerScheme, document)] = [],
            });
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
            options.EnablePersistAuthorization();
        });
        return app;
    }
}
