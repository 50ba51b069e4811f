using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PkiService.Persistence;
using PkiService.Api.Issuance;

namespace PkiService.Api.Tests.Support;

/// <summary>
/// The real web host, on a real Kestrel listener (loopback, free port) and a temporary data directory, on a real
/// SQLite file in it (the default) or a real PostgreSQL database that belongs to it (<see cref="TestDatabase"/>).
/// Several factories may share one directory in turn to simulate restarts.
/// </summary>
public sealed class PkiApiFactory : WebApplicationFactory<Program>
{
    public const string AdminKey = "pki_ak_test-admin-key-0123456789abcdef";
    public const string Passphrase = "test passphrase, not a secret";

    private readonly IReadOnlyDictionary<string, string?> _settings;

    public PkiApiFactory(
        string? dataDirectory = null,
        TimeProvider? timeProvider = null,
        IReadOnlyDictionary<string, string?>? settings = null,
        bool mtlsListener = false,
        DatabaseFault? databaseFault = null,
        TestDatabase? database = null,
        string? databaseOf = null)
    {
        DatabaseFault = databaseFault;
        Database = database ?? TestDatabase.Sqlite;
        DataDirectory = dataDirectory ?? TempDirectory.Create();
        if (databaseOf is not null && !Database.IsPostgres)
        {
            throw new ArgumentException("Only PostgreSQL hosts can share a database across data directories; SQLite's file is in the data directory.", nameof(databaseOf));
        }
        DatabaseDirectory = databaseOf ?? DataDirectory;
        TimeProvider = timeProvider;
        _settings = settings ?? new Dictionary<string, string?>();
        // Off unless asked for: every factory would otherwise bind the default port 5443.
        MtlsPort = mtlsListener ? FreeLoopbackPort() : null;
        UseKestrel(0);
    }

    public string DataDirectory { get; }

    /// <summary>
    /// The data directory whose database this host runs on: its own by default, or (PostgreSQL only, <c>databaseOf</c>)
    /// another host's, so that hosts with different data directories share one database as the nodes of a cluster do.
    /// </summary>
    public string DatabaseDirectory { get; }

    public TimeProvider? TimeProvider { get; }

    /// <summary>The database provider this host runs on.</summary>
    public TestDatabase Database { get; }

    /// <summary>The interceptor every database context of this host carries, when faults are to be injected.</summary>
    public DatabaseFault? DatabaseFault { get; }

    /// <summary>The mTLS renewal listener's port, when it is enabled.</summary>
    public int? MtlsPort { get; }

    /// <summary>Base address of the mTLS renewal listener.</summary>
    public Uri MtlsAddress => new($"https://127.0.0.1:{MtlsPort ?? throw new InvalidOperationException("Create the factory with mtlsListener: true.")}/");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Pki:DataDirectory", DataDirectory);
        builder.UseSetting("Pki:KeyPassphrase", Passphrase);
        builder.UseSetting("Pki:PublicBaseUrl", "http://pki.test");
        // Fewer PBKDF2 rounds keep each throwaway CA quick to create; production keeps the default.
        builder.UseSetting("Pki:KeyEncryptionIterations", "1000");
        builder.UseSetting("Admin:BootstrapApiKey", AdminKey);
        builder.UseSetting("Pki:MtlsUrl", MtlsPort is { } port ? $"https://127.0.0.1:{port}" : "");
        foreach (var (key, value) in Database.Settings(DatabaseDirectory))
        {
            builder.UseSetting(key, value);
        }
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
        if (TimeProvider is not null)
        {
            builder.ConfigureServices(services => services.Replace(ServiceDescriptor.Singleton(TimeProvider)));
        }
        if (DatabaseFault is { } fault)
        {
            builder.ConfigureServices(services => services.ConfigureDbContext<PkiDbContext>(options => options.AddInterceptors(fault)));
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

    /// <summary>
    /// A client of the mTLS listener that presents <paramref name="clientCertificate"/> (or none) and trusts only this
    /// service's root. The factory's host must have started (<see cref="WebApplicationFactory{T}.Services"/>).
    /// </summary>
    public HttpClient CreateMtlsClient(X509Certificate2? clientCertificate)
    {
        _ = Services;
        var root = X509CertificateLoader.LoadCertificate(
            Services.GetRequiredService<PkiService.Core.Authorities.CaHierarchy>().Root.Der);
        var handler = new SocketsHttpHandler
        {
            SslOptions = new System.Net.Security.SslClientAuthenticationOptions
            {
                // Offline: the client sends its certificate without looking for its issuer (no AIA fetch of the test URL).
                ClientCertificateContext = clientCertificate is null ? null : System.Net.Security.SslStreamCertificateContext.Create(clientCertificate, null, offline: true),
                // Trust exactly our root (the listener sends its certificate and our issuing CA); nothing fetched.
                CertificateChainPolicy = TrustOnlyRoot(root),
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                    certificate is not null && errors == System.Net.Security.SslPolicyErrors.None,
            },
        };
        return new HttpClient(handler) { BaseAddress = MtlsAddress };
    }

    private static X509ChainPolicy TrustOnlyRoot(X509Certificate2 root)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.Add(root);
        return policy;
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public sealed record TokenResponse(string Id, string Token, DateTimeOffset ExpiresAt);

    public sealed record EnrollmentResponse(string SerialNumber, string Certificate, string Chain, DateTimeOffset NotBefore, DateTimeOffset NotAfter, DateTimeOffset RenewAfter);
}
