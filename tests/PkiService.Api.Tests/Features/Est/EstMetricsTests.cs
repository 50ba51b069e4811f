using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PkiService.Api.Tests.Infrastructure;
using PkiService.Api.Tests.Support;

namespace PkiService.Api.Tests.Features.Est;

/// <summary>EST issuance and renewal are counted with <c>protocol="est"</c>, REST ones with <c>protocol="rest"</c> (alone: exact counts).</summary>
[Collection(MetricsCollection.Name)]
public sealed class EstMetricsTests
{
    [Fact]
    public async Task Metrics_EstEnrollAndReenroll_AreCountedWithProtocolEst()
    {
        using var factory = new PkiApiFactory(mtlsListener: true);
        var restToken = await factory.CreateTokenAsync("rest-device");
        Assert.Equal(HttpStatusCode.Created, (await factory.EnrollAsync(restToken, Csrs.P256("rest-device"))).StatusCode);
        var token = await factory.CreateTokenAsync("est-device", ["spiffe://example.org/est-device"]);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var anonymous = factory.CreateMtlsClient(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await EstEndpointTests.PostAsync(anonymous, "/.well-known/est/simpleenroll",
            EstEndpointTests.Base64Csr(key, "est-device", "spiffe://example.org/est-device"), EstEndpointTests.Basic("pki_et_not-a-token"))).StatusCode);
        var issued = Assert.Single(await EstEndpointTests.IssuedAsync(await EstEndpointTests.PostAsync(anonymous, "/.well-known/est/simpleenroll",
            EstEndpointTests.Base64Csr(key, "est-device", "spiffe://example.org/est-device"), EstEndpointTests.Basic(token))));
        using var current = issued.CopyWithPrivateKey(key);
        using var holder = factory.CreateMtlsClient(current);
        using var newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.Single(await EstEndpointTests.IssuedAsync(await EstEndpointTests.PostAsync(holder, "/.well-known/est/simplereenroll",
            EstEndpointTests.Base64Csr(newKey, "est-device", "spiffe://example.org/est-device"), null)));

        using var client = factory.CreateClient();
        var text = await client.GetStringAsync("/metrics");

        Assert.Equal(1, PrometheusText.Value(text, "pki_certificates_issued_total", ("protocol", "est"), ("profile", "client"), ("outcome", "success")));
        Assert.Equal(1, PrometheusText.Value(text, "pki_certificates_issued_total", ("protocol", "est"), ("outcome", "unauthorized")));
        Assert.Equal(1, PrometheusText.Value(text, "pki_certificates_issued_total", ("protocol", "rest"), ("profile", "client"), ("outcome", "success")));
        Assert.Equal(1, PrometheusText.Value(text, "pki_certificates_renewed_total", ("protocol", "est"), ("profile", "client"), ("outcome", "success")));
    }
}
