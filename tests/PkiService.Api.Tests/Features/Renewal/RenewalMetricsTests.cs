using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PkiService.Api.Tests.Infrastructure;
using PkiService.Api.Tests.Support;

namespace PkiService.Api.Tests.Features.Renewal;

/// <summary>
/// A renewal sent again after its answer was lost gets the certificate the first one made; the renewed counter tells
/// the two apart, so <c>outcome="success"</c> counts certificates made (alone: exact counts).
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed class RenewalMetricsTests
{
    [Fact]
    public async Task Metrics_RenewalSentAgain_CountedAsReplayedNotAsASecondSuccess()
    {
        using var factory = new PkiApiFactory(mtlsListener: true);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var token = await factory.CreateTokenAsync("replay-metric");
        var enrolled = await factory.EnrollAsync(token, Csr(key, "replay-metric"));
        Assert.Equal(HttpStatusCode.Created, enrolled.StatusCode);
        using var issued = X509Certificate2.CreateFromPem((await enrolled.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!.Certificate);
        using var current = issued.CopyWithPrivateKey(key);
        using var holder = factory.CreateMtlsClient(current);
        using var newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = Csr(newKey, "replay-metric");

        using var first = await holder.PostAsJsonAsync("/api/v1/renew", new { csr });
        using var again = await holder.PostAsJsonAsync("/api/v1/renew", new { csr });

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        using var client = factory.CreateClient();
        var text = await client.GetStringAsync("/metrics");
        Assert.Equal(1, PrometheusText.Value(text, "pki_certificates_renewed_total", ("protocol", "rest"), ("profile", "client"), ("outcome", "success")));
        Assert.Equal(1, PrometheusText.Value(text, "pki_certificates_renewed_total", ("protocol", "rest"), ("profile", "client"), ("outcome", "replayed")));
    }

    private static string Csr(ECDsa key, string commonName) =>
        new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
}
