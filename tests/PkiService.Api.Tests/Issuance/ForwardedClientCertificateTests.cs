using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using PkiService.Api.Tests.Support;
using PkiService.Persistence;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Tests.Issuance;

/// <summary>
/// Renewal behind a TLS-terminating reverse proxy (issue 15): on the plain listener, <c>POST /api/v1/renew</c> takes the
/// client certificate from <c>X-Forwarded-Client-Cert</c> (URL-escaped PEM, as nginx's <c>$ssl_client_escaped_cert</c>),
/// but only when the connection's own peer is in <c>ForwardedHeaders:KnownProxies</c>; the forwarded certificate is then
/// checked like a TLS one. The test client connects from 127.0.0.1, so "the proxy" is 127.0.0.1 or it is not trusted.
/// </summary>
public sealed class ForwardedClientCertificateTests : IDisposable
{
    private const string Header = "X-Forwarded-Client-Cert";
    private const string SpiffeId = "spiffe://example.org/proxied";

    private readonly List<PkiApiFactory> _factories = [];

    public void Dispose()
    {
        foreach (var factory in _factories)
        {
            factory.Dispose();
        }
    }

    [SkippableFact]
    public async Task Renew_ValidCertificateForwardedByTrustedProxy_Returns201AndSupersedesOld()
    {
        var factory = Factory(proxy: "127.0.0.1");
        var (serial, certificate) = await EnrollAsync(factory, "proxied");
        using var client = factory.CreateClient();

        // The proxy also says who its client is; the certificate is believed because of the socket peer (127.0.0.1),
        // not that forwarded address (which is not a proxy).
        var response = await PostRenewAsync(client, Escaped(certificate), "proxied", forwardedFor: "203.0.113.7");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var renewed = (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        using var issued = X509Certificate2.CreateFromPem(renewed.Certificate);
        Assert.Equal("CN=proxied", issued.Subject);
        var (old, @new) = (await RecordAsync(factory, serial), await RecordAsync(factory, renewed.SerialNumber));
        Assert.Equal((CertificateStatus.Superseded, renewed.SerialNumber), (old.Status, old.SupersededBy));
        Assert.Equal(CertificateStatus.Active, @new.Status);
        Assert.True(renewed.RenewAfter > renewed.NotBefore && renewed.RenewAfter < renewed.NotAfter);
    }

    [SkippableFact]
    public async Task Renew_HeaderFromPeerThatIsNotAProxy_Returns401AndChangesNothing()
    {
        // A proxy is configured (so the plain listener serves renewals), but the test client at 127.0.0.1 is not it,
        // also when it claims in X-Forwarded-For to be.
        var factory = Factory(proxy: "10.0.0.5");
        var (serial, certificate) = await EnrollAsync(factory, "direct");
        using var client = factory.CreateClient();

        var response = await PostRenewAsync(client, Escaped(certificate), "direct", forwardedFor: "10.0.0.5");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains("client certificate", problem.GetProperty("title").GetString());
        var record = await RecordAsync(factory, serial);
        Assert.Equal((CertificateStatus.Active, null), (record.Status, record.SupersededBy));
        Assert.Equal(1, await CertificateCountAsync(factory, "direct"));
    }

    [SkippableFact]
    public async Task Renew_HeaderOnTheMtlsListenerWithoutTlsCertificate_IsIgnored401()
    {
        var factory = Factory(proxy: "127.0.0.1", mtlsListener: true);
        var (serial, certificate) = await EnrollAsync(factory, "tls-side");
        using var client = factory.CreateMtlsClient(null);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/renew") { Content = JsonContent.Create(new { csr = Csrs.P256("tls-side", SpiffeId) }) };
        request.Headers.Add(Header, Escaped(certificate));

        var response = await client.SendAsync(request);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal(CertificateStatus.Active, (await RecordAsync(factory, serial)).Status);
    }

    [SkippableFact]
    public async Task Renew_ForeignCaCertificateForwardedByTrustedProxy_Returns401()
    {
        var factory = Factory(proxy: "127.0.0.1");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=forged", key, HashAlgorithmName.SHA256);
        using var forged = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1));
        using var client = factory.CreateClient();

        var response = await PostRenewAsync(client, Escaped(forged), "forged");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains("not issued by this service", problem.GetProperty("title").GetString());
        Assert.Equal(0, await CertificateCountAsync(factory, "forged"));
    }

    [SkippableFact]
    public async Task Renew_RevokedCertificateForwardedByTrustedProxy_Returns401AndStaysRevoked()
    {
        var factory = Factory(proxy: "127.0.0.1");
        var (serial, certificate) = await EnrollAsync(factory, "revoked");
        using var admin = factory.CreateAdminClient();
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/v1/certificates/{serial}/revoke", new { reason = "keyCompromise" })).StatusCode);
        using var client = factory.CreateClient();

        var response = await PostRenewAsync(client, Escaped(certificate), "revoked");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains("revoked", problem.GetProperty("title").GetString());
        Assert.Equal(CertificateStatus.Revoked, (await RecordAsync(factory, serial)).Status);
        Assert.Equal(1, await CertificateCountAsync(factory, "revoked"));
    }

    [SkippableTheory]
    [InlineData("not-a-certificate", "no URL-escaped PEM certificate")]
    [InlineData("-----BEGIN%20PRIVATE%20KEY-----%0AAAAA%0A-----END%20PRIVATE%20KEY-----%0A", "no URL-escaped PEM certificate")]
    [InlineData("-----BEGIN%20CERTIFICATE-----%0A%21%21%21%21%0A-----END%20CERTIFICATE-----%0A", "no URL-escaped PEM certificate")]
    [InlineData("oversized", "longer than")]
    public async Task Renew_GarbageHeaderFromTrustedProxy_Returns401NamingTheHeaderAndChangesNothing(string value, string reason)
    {
        var factory = Factory(proxy: "127.0.0.1");
        var (serial, _) = await EnrollAsync(factory, "garbage");
        using var client = factory.CreateClient();
        if (value == "oversized")
        {
            value = new string('A', 16 * 1024 + 1);
        }

        var response = await PostRenewAsync(client, value, "garbage");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        var title = problem.GetProperty("title").GetString()!;
        Assert.Contains(Header, title);
        Assert.Contains(reason, title);
        Assert.Equal(CertificateStatus.Active, (await RecordAsync(factory, serial)).Status);
    }

    [SkippableFact]
    public async Task Renew_UnparsableDerInWellFormedPemFromTrustedProxy_Returns401()
    {
        var factory = Factory(proxy: "127.0.0.1");
        using var client = factory.CreateClient();
        var pem = PemEncoding.WriteString("CERTIFICATE", [0x30, 0x03, 0x02, 0x01, 0x01]);

        var response = await PostRenewAsync(client, Uri.EscapeDataString(pem), "unparsable");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains("cannot be parsed", problem.GetProperty("title").GetString());
    }

    [SkippableFact]
    public async Task Renew_OnPlainListenerWithoutTrustedProxies_StillReturns404()
    {
        var factory = Factory(proxy: null);
        var (serial, certificate) = await EnrollAsync(factory, "unproxied");
        using var client = factory.CreateClient();

        var response = await PostRenewAsync(client, Escaped(certificate), "unproxied");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Equal(CertificateStatus.Active, (await RecordAsync(factory, serial)).Status);
    }

    /// <summary>RequestProtection.RenewalPolicy applies through the proxy, per forwarded client address.</summary>
    [SkippableFact]
    public async Task Renew_ThroughTrustedProxy_IsRateLimitedPerForwardedClient()
    {
        var factory = Factory(proxy: "127.0.0.1", new Dictionary<string, string?> { ["RateLimits:RenewalPerMinute"] = "2" });
        using var client = factory.CreateClient();

        var first = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => PostRenewAsync(client, "", "limited", forwardedFor: "203.0.113.1")));
        var other = await PostRenewAsync(client, "", "limited", forwardedFor: "203.0.113.2");

        Assert.Equal(2, first.Count(r => r.StatusCode == HttpStatusCode.Unauthorized));
        Assert.Equal(1, first.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests));
        Assert.Equal(HttpStatusCode.Unauthorized, other.StatusCode);
    }

    private PkiApiFactory Factory(string? proxy, IReadOnlyDictionary<string, string?>? extra = null, bool mtlsListener = false)
    {
        var settings = new Dictionary<string, string?>(extra ?? new Dictionary<string, string?>());
        if (proxy is not null)
        {
            settings["ForwardedHeaders:KnownProxies:0"] = proxy;
        }
        var factory = new PkiApiFactory(settings: settings, mtlsListener: mtlsListener);
        _factories.Add(factory);
        return factory;
    }

    /// <summary>What nginx's <c>$ssl_client_escaped_cert</c> holds: the PEM, URL-escaped.</summary>
    private static string Escaped(X509Certificate2 certificate) => Uri.EscapeDataString(certificate.ExportCertificatePem() + "\n");

    private static async Task<HttpResponseMessage> PostRenewAsync(HttpClient client, string header, string commonName, string? forwardedFor = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/renew") { Content = JsonContent.Create(new { csr = Csrs.P256(commonName, SpiffeId) }) };
        request.Headers.Add(Header, header);
        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }
        return await client.SendAsync(request);
    }

    private static async Task<(string Serial, X509Certificate2 Certificate)> EnrollAsync(PkiApiFactory factory, string commonName)
    {
        var token = await factory.CreateTokenAsync(commonName, [SpiffeId]);
        var response = await factory.EnrollAsync(token, Csrs.P256(commonName, SpiffeId), "P30D");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        return (body.SerialNumber, X509Certificate2.CreateFromPem(body.Certificate));
    }

    private static async Task<CertificateRecord> RecordAsync(PkiApiFactory factory, string serial)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<PkiDbContext>().Certificates.AsNoTracking().SingleAsync(c => c.SerialNumber == serial);
    }

    private static async Task<int> CertificateCountAsync(PkiApiFactory factory, string commonName)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<PkiDbContext>().Certificates.CountAsync(c => c.CommonName == commonName);
    }
}
