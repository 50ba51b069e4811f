using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PkiService.Api.Tests.Support;
using PkiService.AspNetCore.ServerCertificates;
using PkiService.AspNetCore.Trust;

namespace PkiService.AspNetCore.Tests.ServerCertificates;

/// <summary>
/// The server certificate's calls against a real PkiService (its web host on Kestrel, with the mTLS listener):
/// enrollment for the token's names, renewal over mTLS with a new key, and the refusals (a used token, a listener
/// that does not chain to the pinned root).
/// </summary>
public sealed class ServerCertificateClientTests : IAsyncLifetime
{
    private PkiApiFactory _pki = null!;

    public Task InitializeAsync()
    {
        _pki = new PkiApiFactory(mtlsListener: true);
        _ = _pki.Services; // starts the host
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _pki.DisposeAsync();

    [Fact]
    public async Task Enroll_ServerToken_IssuesTheTokensNamesForANewKeyChainedToTheRoot()
    {
        var client = Client();
        var token = await _pki.CreateTokenAsync("localhost", ["localhost", "127.0.0.1"], "server");

        var issued = await client.EnrollAsync(token, CancellationToken.None);

        Assert.True(issued.Certificate.HasPrivateKey);
        Assert.Equal("CN=localhost", issued.Certificate.Subject);
        var names = issued.Certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["localhost"], names.EnumerateDnsNames());
        Assert.Equal([IPAddress.Loopback], names.EnumerateIPAddresses());
        Assert.Equal(Anchors().Issuing.RawData, Assert.Single(issued.Intermediates).RawData);
        Assert.Equal(issued.SerialNumber, Convert.ToHexString(issued.Certificate.SerialNumberBytes.Span.TrimStart((byte)0)));
        Assert.Equal("server", await StatusFieldAsync(issued.SerialNumber, "profile"));
    }

    [Fact]
    public async Task Enroll_UsedToken_ThrowsWithTheProblemTitleAndNeverTheToken()
    {
        var client = Client();
        var token = await _pki.CreateTokenAsync("localhost", ["localhost"], "server");
        await client.EnrollAsync(token, CancellationToken.None);

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => client.EnrollAsync(token, CancellationToken.None));

        Assert.Contains("401", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(token, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Renew_OverTheMtlsListener_NewKeySameNamesAndTheOldOneSuperseded()
    {
        var client = Client();
        var token = await _pki.CreateTokenAsync("localhost", ["localhost", "127.0.0.1"], "server");
        var first = await client.EnrollAsync(token, CancellationToken.None);

        var renewed = await client.RenewAsync(first, CancellationToken.None);

        Assert.NotEqual(first.SerialNumber, renewed.SerialNumber);
        Assert.Equal(first.Certificate.Subject, renewed.Certificate.Subject);
        Assert.Equal(
            first.Certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().RawData,
            renewed.Certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().RawData);
        Assert.False(first.Certificate.PublicKey.EncodedKeyValue.RawData.AsSpan().SequenceEqual(renewed.Certificate.PublicKey.EncodedKeyValue.RawData));
        Assert.Equal("superseded", await StatusFieldAsync(first.SerialNumber, "status"));
        Assert.Equal("active", await StatusFieldAsync(renewed.SerialNumber, "status"));
    }

    [Fact]
    public async Task Renew_ListenerNotChainingToThePinnedRoot_RefusedAndNothingSent()
    {
        // A TLS server for 127.0.0.1 whose certificate is self-signed: not PkiService's listener.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var selfSigned = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        using var serverCertificate = X509CertificateLoader.LoadPkcs12(selfSigned.Export(X509ContentType.Pkcs12), null);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(serverCertificate)));
        await using var impostor = builder.Build();
        var calls = 0;
        impostor.MapPost("/api/v1/renew", () => { calls++; return Results.StatusCode(500); });
        await impostor.StartAsync();
        var client = Client(renewalUrl: new Uri(impostor.Urls.First()));
        var token = await _pki.CreateTokenAsync("localhost", ["localhost", "127.0.0.1"], "server");
        var current = await client.EnrollAsync(token, CancellationToken.None);

        await Assert.ThrowsAsync<HttpRequestException>(() => client.RenewAsync(current, CancellationToken.None));

        Assert.Equal(0, calls);
        Assert.Equal("active", await StatusFieldAsync(current.SerialNumber, "status"));
    }

    [Fact]
    public void RenewAt_IsTwoThirdsIntoTheLife()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var notBefore = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        using var certificate = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256).CreateSelfSigned(notBefore, notBefore.AddDays(30));

        var issued = new IssuedServerCertificate(certificate, [], "01");

        Assert.Equal(notBefore.AddDays(20), issued.RenewAt);
    }

    private ServerCertificateClient Client(Uri? renewalUrl = null)
    {
        var store = new TrustAnchorStore { Current = Anchors() };
        var options = Options.Create(new PkiClientOptions
        {
            ServiceUrl = ServiceUrl(),
            RenewalUrl = renewalUrl ?? _pki.MtlsAddress,
            ServerCertificateValidity = "P1D",
        });
        return new ServerCertificateClient(options, store, TimeProvider.System);
    }

    private Uri ServiceUrl()
    {
        using var http = _pki.CreateClient();
        return http.BaseAddress!;
    }

    private PkiTrustAnchors Anchors()
    {
        var hierarchy = (PkiService.Core.Authorities.CaHierarchy)_pki.Services.GetService(typeof(PkiService.Core.Authorities.CaHierarchy))!;
        return new PkiTrustAnchors(X509CertificateLoader.LoadCertificate(hierarchy.Root.Der), X509CertificateLoader.LoadCertificate(hierarchy.Issuing.Der));
    }

    private async Task<string?> StatusFieldAsync(string serial, string field)
    {
        using var admin = _pki.CreateAdminClient();
        var record = await admin.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/v1/certificates/{serial}");
        return record.GetProperty(field).GetString();
    }
}
