using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using PkiService.Api.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using PkiService.AspNetCore.Identity;
using PkiService.AspNetCore.Refusals;
using PkiService.AspNetCore.Trust;
using PkiService.AspNetCore.Tests.Support;

namespace PkiService.AspNetCore.Tests.Trust;

/// <summary>The TLS handshake of an API protected by the package, with real PkiService certificates and real Kestrel.</summary>
public sealed class HandshakeTests : IAsyncLifetime
{
    private PkiServiceInstance _pki = null!;

    public async Task InitializeAsync() => _pki = await PkiServiceInstance.StartAsync();

    public async Task DisposeAsync() => await _pki.DisposeAsync();

    [Fact]
    public async Task Handshake_ValidClientCertificate_Returns200WithItsClaims()
    {
        await using var api = await ProtectedApi.StartAsync(_pki);
        using var certificate = await _pki.EnrollAsync("alice", ["spiffe://example.org/admin/alice", "alice.example.org"]);
        using var client = api.CreateClient(certificate);

        var claims = await client.GetFromJsonAsync<ProtectedApi.ClaimView[]>("/whoami");

        Assert.Contains(new ProtectedApi.ClaimView(PkiClaimTypes.CommonName, "alice"), claims!);
        Assert.Contains(new ProtectedApi.ClaimView(PkiClaimTypes.SpiffeId, "spiffe://example.org/admin/alice"), claims!);
        Assert.Contains(new ProtectedApi.ClaimView(PkiClaimTypes.Dns, "alice.example.org"), claims!);
        Assert.Contains(new ProtectedApi.ClaimView(PkiClaimTypes.Profile, "client"), claims!);
        Assert.Contains(new ProtectedApi.ClaimView(PkiClaimTypes.SerialNumber, ClientCertificateInfo.CanonicalSerial(certificate.SerialNumberBytes.Span)), claims!);
        Assert.Empty(api.Logs.RefusalReasons);
    }

    [Fact]
    public async Task Handshake_NoClientCertificate_Fails()
    {
        await using var api = await ProtectedApi.StartAsync(_pki);
        using var client = api.CreateClient(null);

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetAsync("/whoami"));
    }

    [Fact]
    public async Task Handshake_CertificateOfAnotherCaWithTheSameNames_FailsAsUntrusted()
    {
        await using var api = await ProtectedApi.StartAsync(_pki);
        using var genuine = await _pki.EnrollAsync("mallory");
        using var pkiRoot = X509CertificateLoader.LoadCertificate(_pki.RootDer);
        using var pkiIssuing = X509CertificateLoader.LoadCertificate(_pki.IssuingDer);
        using var foreign = new ForeignCa(pkiRoot.Subject, pkiIssuing.Subject);
        using var forged = foreign.IssueClient(genuine.Subject);
        using var client = api.CreateClient(forged, [foreign.Issuing]);

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetAsync("/whoami"));

        Assert.Equal(["untrusted"], api.Logs.RefusalReasons.Distinct());
        Assert.Equal(RefusalReason.Untrusted, api.Services.GetRequiredService<ClientCertificateValidator>().Evaluate(forged));
    }

    /// <summary>
    /// A foreign client certificate sent alone, with an AIA caIssuers URL: the handshake fetches nothing (a client could
    /// otherwise make the API connect to a host of its choosing) and fails as untrusted. The URL is a local listener
    /// that counts connections.
    /// </summary>
    [Fact]
    public async Task Handshake_ForeignCertificateWithAiaUrl_FetchesNothingAndFailsAsUntrusted()
    {
        using var aia = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        aia.Start();
        var fetches = 0;
        _ = Task.Run(async () =>
        {
            while (true)
            {
                using var connection = await aia.AcceptTcpClientAsync();
                Interlocked.Increment(ref fetches);
            }
        });
        await using var api = await ProtectedApi.StartAsync(_pki);
        using var foreign = new ForeignCa("CN=Foreign Root", "CN=Foreign Issuing");
        using var forged = foreign.IssueClient("CN=alice", $"http://127.0.0.1:{((IPEndPoint)aia.LocalEndpoint).Port}/issuing.crt");
        using var client = api.CreateClient(forged);

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetAsync("/whoami"));

        await Task.Delay(200);
        Assert.Equal(0, Volatile.Read(ref fetches));
        Assert.Equal(["untrusted"], api.Logs.RefusalReasons.Distinct());
    }

    [Fact]
    public async Task Handshake_ExpiredCertificate_FailsAsExpired()
    {
        using var certificate = await _pki.EnrollAsync("expiring", validity: "PT1H");
        // The API's clock is two hours ahead: the certificate (valid one hour) has expired there; the CRL (a day) has not.
        var time = new AdjustableTimeProvider(DateTimeOffset.UtcNow.AddHours(2));
        await using var api = await ProtectedApi.StartAsync(_pki, time: time);
        using var client = api.CreateClient(certificate);

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetAsync("/whoami"));

        Assert.Equal(["expired"], api.Logs.RefusalReasons.Distinct());
    }

    [Fact]
    public async Task Handshake_ServerProfileCertificate_FailsAsNotClientAuth()
    {
        await using var api = await ProtectedApi.StartAsync(_pki);
        using var certificate = await _pki.EnrollAsync("svc.example.org", ["svc.example.org"], profile: "server");
        using var client = api.CreateClient(certificate);

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetAsync("/whoami"));

        Assert.Equal(["not-client-auth"], api.Logs.RefusalReasons.Distinct());
    }

    [Fact]
    public async Task Handshake_CertificateRevokedBeforeStart_FailsAsRevokedFromTheCrl()
    {
        using var revoked = await _pki.EnrollAsync("revoked-early");
        using var valid = await _pki.EnrollAsync("still-valid");
        await _pki.RevokeAsync(revoked);
        await using var api = await ProtectedApi.StartAsync(_pki, new Dictionary<string, string?> { ["PkiClient:Revocation"] = "Crl" });
        using var revokedClient = api.CreateClient(revoked);
        using var validClient = api.CreateClient(valid);

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => revokedClient.GetAsync("/whoami"));
        using var response = await validClient.GetAsync("/whoami");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["revoked"], api.Logs.RefusalReasons.Distinct());
    }
}
