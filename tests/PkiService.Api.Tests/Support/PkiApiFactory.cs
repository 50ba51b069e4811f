using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace PkiService.Api.Tests.Support;

/// <summary>
/// The real web host, on a real Kestrel listener (loopback, free port) and a real SQLite file in a temporary
/// data directory. Several factories may share one directory in turn to simulate restarts.
/// </summary>
public sealed class PkiApiFactory : WebApplicationFactory<Program>
{
    public const string AdminKey = "pki_ak_test-admin-key-0123456789abcdef";
    public const string Passphrase = "test passphrase, not a secret";

    private readonly IReadOnlyDictionary<string, string?> _settings;

    public PkiApiFactory(string? dataDirectory = null, TimeProvider? timeProvider = null, IReadOnlyDictionary<string, string?>? settings = null)
    {
        DataDirectory = dataDirectory ?? TempDirectory.Create();
        TimeProvider = timeProvider;
        _settings = settings ?? new Dictionary<string, string?>();
        UseKestrel(0);
    }

    public string DataDirectory { get; }

    public TimeProvider? TimeProvider { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Pki:DataDirectory", DataDirectory);
        builder.UseSetting("Pki:KeyPassphrase", Passphrase);
        builder.UseSetting("Pki:PublicBaseUrl", "http://pki.test");
        // Fewer PBKDF2 rounds keep each throwaway CA quick to create; production keeps the default.
        builder.UseSetting("Pki:KeyEncryptionIterations", "1000");
        builder.UseSetting("Admin:BootstrapApiKey", AdminKey);
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
        if (TimeProvider is not null)
        {
            builder.ConfigureServices(services => services.Replace(ServiceDescriptor.Singleton(TimeProvider)));
        }
    }

    /// <summary>A client that sends the admin API key.</summary>
    public HttpClient CreateAdminClient()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        return client;
    }

    /// <summary>Creates an enrollment token through the admin API and returns its secret.</summary>
    public async Task<string> CreateTokenAsync(string commonName, string[]? sans = null, string profile = "client", string? ttl = null)
    {
        using var admin = CreateAdminClient();
        var response = await admin.PostAsJsonAsync("/api/v1/enrollment-tokens", new { commonName, sans, profile, ttl, contactEmail = "ops@example.org" });
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<TokenResponse>();
        return body!.Token;
    }

    /// <summary>Posts a CSR to /api/v1/enroll with <paramref name="token"/>.</summary>
    public async Task<HttpResponseMessage> EnrollAsync(string token, string csrPem, string? validity = null)
    {
        using var client = CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/enroll")
        {
            Content = JsonContent.Create(new { csr = csrPem, validity }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await client.SendAsync(request);
    }

    public sealed record TokenResponse(string Id, string Token, DateTimeOffset ExpiresAt);

    public sealed record EnrollmentResponse(string SerialNumber, string Certificate, string Chain, DateTimeOffset NotBefore, DateTimeOffset NotAfter);
}
