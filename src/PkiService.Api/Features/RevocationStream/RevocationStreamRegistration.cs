using Microsoft.Extensions.Options;
using PkiService.Api.Infrastructure;
using PkiService.Api.Revocation;

namespace PkiService.Api.Features.RevocationStream;

/// <summary>The revocation stream feature's services, registered by the feature itself.</summary>
public static class RevocationStreamRegistration
{
    /// <summary>
    /// <c>RevocationStream</c> options (checked at start), the feed (a status-change subscriber and the background reader
    /// behind every stream), the CRL history resumes are measured against, the client slots and their metrics. Register
    /// after <c>AddCrl()</c>: the feed remembers the CRL the CRL feature rebuilt for a change, so it must be told after it.
    /// </summary>
    public static WebApplicationBuilder AddRevocationStream(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<RevocationStreamOptions>()
            .Bind(builder.Configuration.GetSection(RevocationStreamOptions.Section))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RevocationStreamOptions>, RevocationStreamOptionsValidator>();
        services.AddSingleton<CrlHistory>();
        services.AddSingleton<RevocationFeed>();
        services.AddCertificateStatusSubscriber<RevocationFeed>();
        services.AddHostedService(provider => provider.GetRequiredService<RevocationFeed>());
        services.AddSingleton<RevocationStreamClients>();
        services.AddSingleton<RevocationStreamSession>();
        services.AddSingleton<IPkiGauges, RevocationStreamGauges>();
        return builder;
    }

    /// <summary>Names the key and the fix when the settings cannot be used.</summary>
    private sealed class RevocationStreamOptionsValidator : IValidateOptions<RevocationStreamOptions>
    {
        public ValidateOptionsResult Validate(string? name, RevocationStreamOptions options) =>
            options.Problem() is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
    }
}
