using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using PkiService.Api.Tests.Support;
using PkiService.Core.Authorities;

namespace PkiService.AspNetCore.Tests.Support;

/// <summary>A real PkiService (its web host on a real loopback Kestrel port, a throwaway CA on a temporary SQLite file).</summary>
public sealed class PkiServiceInstance : IAsyncDisposable
{
    private PkiServiceInstance(PkiApiFactory factory, Uri url)
    {
        Factory = factory;
        Url = url;
        var hierarchy = factory.Services.GetRequiredService<CaHierarchy>();
        RootDer = hierarchy.Root.Der;
        IssuingDer = hierarchy.Issuing.Der;
    }

    public PkiApiFactory Factory { get; }

    /// <summary>The service's base address (what <c>PkiClient:ServiceUrl</c> is set to).</summary>
    public Uri Url { get; }

    public byte[] RootDer { get; }

    public byte[] IssuingDer { get; }

    /// <summary>SHA-256 of the root's DER, in openssl's colon form (the setting must accept it).</summary>
    /// <summary>The root and issuing CA as the package holds them once its start-up fetched and checked them.</summary>
    internal PkiService.AspNetCore.Trust.PkiTrustAnchors TrustAnchors() =>
        new(X509CertificateLoader.LoadCertificate(RootDer), X509CertificateLoader.LoadCertificate(IssuingDer));

    public string RootFingerprint => string.Join(':', Convert.ToHexString(SHA256.HashData(RootDer)).Chunk(2).Select(c => new string(c)));

    public static Task<PkiServiceInstance> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var factory = new PkiApiFactory(settings: settings);
        using var client = factory.CreateClient();
        return Task.FromResult(new PkiServiceInstance(factory, client.BaseAddress!));
    }

    /// <summary>Enrolls a client certificate for <paramref name="commonName"/> with the token's SANs; returns it with its key.</summary>
    public async Task<X509Certificate2> EnrollAsync(string commonName, string[]? sans = null, string profile = "client", string? validity = null)
    {
        var token = await Factory.CreateTokenAsync(commonName, sans, profile);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        using var response = await Factory.EnrollAsync(token, csr, validity);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>();
        using var certificate = X509Certificate2.CreateFromPem(body!.Certificate);
        using var withKey = certificate.CopyWithPrivateKey(key);
        // Through PKCS#12 so the key is usable by the TLS stack on every platform.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Revokes through the admin API.</summary>
    public async Task RevokeAsync(X509Certificate2 certificate, string reason = "keyCompromise")
    {
        using var admin = Factory.CreateAdminClient();
        var serial = PkiService.AspNetCore.Identity.ClientCertificateInfo.CanonicalSerial(certificate.SerialNumberBytes.Span);
        using var response = await admin.PostAsJsonAsync($"/api/v1/certificates/{serial}/revoke", new { reason });
        response.EnsureSuccessStatusCode();
    }

    public async ValueTask DisposeAsync() => await Factory.DisposeAsync();
}
