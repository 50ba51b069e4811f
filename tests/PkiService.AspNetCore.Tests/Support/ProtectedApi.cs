using System.Net;
using System.Net.Security;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using PkiService.Api.Tests.Support;

namespace PkiService.AspNetCore.Tests.Support;

/// <summary>
/// An API under test protected by the package: a real Kestrel on a loopback port with TLS, client certificates
/// required, the package's checks in place. Serves <c>/whoami</c> (any valid client: its claims), <c>/admin</c>
/// (policy <c>admins</c>) and <c>/ping</c> (a trivial answer, no authorization). Every response carries the connection id (<c>x-connection-id</c>), so tests can tell that
/// two requests went over one connection.
/// </summary>
public sealed class ProtectedApi : IAsyncDisposable
{
    private static readonly Lazy<X509Certificate2> ServerCertificate = new(CreateServerCertificate);

    private readonly WebApplication _app;

    private ProtectedApi(WebApplication app, Uri url, CapturedLogs logs)
    {
        _app = app;
        Url = url;
        Logs = logs;
    }

    public Uri Url { get; }

    public CapturedLogs Logs { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Builds the API; <see cref="StartAsync"/> of the returned builder starts it (and may throw the package's start errors).</summary>
    public static WebApplication Build(IReadOnlyDictionary<string, string?> settings, CapturedLogs logs, TimeProvider? time = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = TempDirectory.Create(), EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(logs);
        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }
        builder.Services.AddTransient<IStartupFilter, ConnectionIdHeader>();
        // AddPkiClient's and UsePkiClient's client-certificate halves (the server-certificate half is another part's).
        builder.Services.AddOptions<PkiClientOptions>().Bind(builder.Configuration.GetSection(PkiClientOptions.SectionName));
        builder.Services.AddClientCertificateChecks();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.ConfigureHttpsDefaults(https => https.UseClientCertificateValidation(kestrel.ApplicationServices));
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(ServerCertificate.Value));
        });
        var app = builder.Build();
        app.MapGet("/whoami", (ClaimsPrincipal user) => user.Claims.Select(c => new ClaimView(c.Type, c.Value))).RequireAuthorization();
        app.MapGet("/admin", () => "admin").RequireAuthorization("admins");
        app.MapGet("/ping", () => "pong");
        return app;
    }

    public static async Task<ProtectedApi> StartAsync(PkiServiceInstance pki, IReadOnlyDictionary<string, string?>? settings = null, TimeProvider? time = null)
    {
        var logs = new CapturedLogs();
        var all = new Dictionary<string, string?>
        {
            ["PkiClient:ServiceUrl"] = pki.Url.ToString(),
            ["PkiClient:RootFingerprint"] = pki.RootFingerprint,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }
        var app = Build(all, logs, time);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new ProtectedApi(app, new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)), logs);
    }

    /// <summary>A client presenting <paramref name="certificate"/> (and <paramref name="chain"/>), trusting this API's server certificate; one connection at most.</summary>
    public HttpClient CreateClient(X509Certificate2? certificate, X509Certificate2[]? chain = null)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificateContext = certificate is null ? null : SslStreamCertificateContext.Create(certificate, chain is null ? null : new X509Certificate2Collection(chain), offline: true),
                RemoteCertificateValidationCallback = (_, server, _, _) => server is not null && server.GetCertHash().AsSpan().SequenceEqual(ServerCertificate.Value.GetCertHash()),
            },
        };
        return new HttpClient(handler) { BaseAddress = Url, DefaultRequestVersion = HttpVersion.Version11 };
    }

    public Task<HealthReport> HealthAsync() => _app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public sealed record ClaimView(string Type, string Value);

    private static X509Certificate2 CreateServerCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var sans = new SubjectAlternativeNameBuilder();
        sans.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(sans.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    private sealed class ConnectionIdHeader : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((HttpContext context, RequestDelegate following) =>
            {
                context.Response.Headers["x-connection-id"] = context.Connection.Id;
                return following(context);
            });
            next(app);
        };
    }
}
