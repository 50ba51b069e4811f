using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Observability;

/// <summary>
/// Issue 5: never a secret, key or token in a log line. Runs the real process at Information (ASP.NET Core's request
/// logs included), goes through every flow that handles a secret, and searches everything it printed.
/// </summary>
[Collection(ServiceCollection.Name)] // not the shared service: its own, whose whole output this test reads
public sealed class LogSecretsTests : IAsyncLifetime
{
    private readonly ServiceProcess _service = new()
    {
        Settings = new Dictionary<string, string> { ["Logging:LogLevel:Microsoft.AspNetCore"] = "Information" },
    };

    private readonly TempDirectory _work = new();

    public Task InitializeAsync() => _service.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        _work.Dispose();
    }

    [SkippableFact]
    public async Task Logs_FullRun_ContainNoPassphraseKeyTokenOrPrivateKey()
    {
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        var http = _service.Api.Http;
        var secrets = new Dictionary<string, string>
        {
            ["passphrase"] = ServiceProcess.KeyPassphrase,
            ["bootstrap admin key"] = ServiceProcess.AdminApiKey,
        };

        // An API key, made by the bootstrap key, which then makes enrollment tokens.
        var created = await SendAsync(HttpMethod.Post, "api/v1/api-keys", ServiceProcess.AdminApiKey, new { name = "log-test-enroller", role = "enroller" });
        var apiKey = created.GetProperty("key").GetString()!;
        secrets["created API key"] = apiKey;
        var tokens = new List<string>();
        foreach (var name in new[] { "log-client", "log-unused" })
        {
            var token = await SendAsync(HttpMethod.Post, "api/v1/enrollment-tokens", apiKey,
                new { commonName = name, sans = new[] { $"spiffe://example.org/{name}" }, profile = "client", ttl = "PT10M" });
            tokens.Add(token.GetProperty("token").GetString()!);
            secrets[$"enrollment token for {name}"] = tokens[^1];
        }

        // Enroll, renew over mTLS with the issued certificate, revoke the renewed one.
        await openssl.GenerateKeyAsync(KeyType.EcP256, "client.key");
        var csr = await openssl.CreateCsrAsync("client.key", "log-client", "URI:spiffe://example.org/log-client", "client.csr");
        var issued = await _service.Api.EnrollAsync(tokens[0], csr);
        await File.WriteAllTextAsync(_work.File("client.pem"), issued.Certificate);
        await openssl.GenerateKeyAsync(KeyType.EcP256, "renewed.key");
        var renewCsr = await openssl.CreateCsrAsync("renewed.key", "log-client", "URI:spiffe://example.org/log-client", "renewed.csr");
        var renewed = await RenewAsync(renewCsr);
        await _service.Api.RevokeAsync(renewed);

        // Failed authentication: a wrong API key, a wrong and a used enrollment token.
        const string wrongKey = "pki_ak_log-test-wrong-key-0123456789";
        const string wrongToken = "pki_et_log-test-wrong-token-0123456789";
        secrets["wrong API key"] = wrongKey;
        secrets["wrong enrollment token"] = wrongToken;
        using (var request = new HttpRequestMessage(HttpMethod.Get, "api/v1/certificates"))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", wrongKey);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(request)).StatusCode);
        }
        foreach (var token in new[] { wrongToken, tokens[0] })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/enroll") { Content = JsonContent.Create(new { csr }) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(request)).StatusCode);
        }

        await Task.Delay(TimeSpan.FromSeconds(1)); // the console logger writes from a queue
        var log = _service.Output;

        Assert.Contains(issued.SerialNumber, log); // the run was logged: the issuance is there
        Assert.Contains(renewed, log);
        var leaks = secrets.Where(s => log.Contains(s.Value, StringComparison.Ordinal)).Select(s => s.Key).ToList();
        if (log.Contains("PRIVATE KEY", StringComparison.OrdinalIgnoreCase))
        {
            leaks.Add("a PEM private key marker");
        }
        Assert.True(leaks.Count == 0, $"the service logged: {string.Join(", ", leaks)}\n{log}");
    }

    private async Task<JsonElement> SendAsync(HttpMethod method, string path, string bearer, object body)
    {
        using var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        using var response = await _service.Api.Http.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>POST /api/v1/renew on the mTLS listener with client.pem/client.key as the TLS client certificate; returns the new serial.</summary>
    private async Task<string> RenewAsync(string csrPem)
    {
        using var certificate = X509Certificate2.CreateFromPemFile(_work.File("client.pem"), _work.File("client.key"));
        // Linux needs the key in a PKCS#12 round trip to present it in a TLS handshake.
        using var presentable = X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
        using var handler = new SocketsHttpHandler
        {
            SslOptions =
            {
                ClientCertificateContext = System.Net.Security.SslStreamCertificateContext.Create(presentable, null, offline: true),
                RemoteCertificateValidationCallback = (_, _, _, _) => true, // this test is about logs; TLS is tested elsewhere
            },
        };
        using var client = new HttpClient(handler) { BaseAddress = _service.MtlsAddress, Timeout = TimeSpan.FromSeconds(30) };
        using var response = await client.PostAsJsonAsync("api/v1/renew", new { csr = csrPem, validity = "P30D" });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"renew: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("serialNumber").GetString()!;
    }
}
