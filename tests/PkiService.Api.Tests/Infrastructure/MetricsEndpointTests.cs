using System.Net;
using System.Net.Http.Json;
using PkiService.Api.Tests.Support;
using PkiService.Api.Issuance;

namespace PkiService.Api.Tests.Infrastructure;

/// <summary>
/// Exporters listen to meters by name, so a host running beside other hosts in this process would also count theirs:
/// these tests run alone, after the parallel ones, to assert exact counts.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "Metrics, without other hosts running";
}

[Collection(MetricsCollection.Name)]
public sealed class MetricsEndpointTests
{
    [Fact]
    public async Task Metrics_AfterEnrollmentsOcspAndRevocations_CountsByProfileOutcomeAndStatus()
    {
        using var factory = new PkiApiFactory();
        using var admin = factory.CreateAdminClient();
        using var client = factory.CreateClient();
        var good = await EnrollAsync(factory, "metrics-good", "P90D");
        var revoked = await EnrollAsync(factory, "metrics-revoked", "P3D");
        var serverToken = await factory.CreateTokenAsync("metrics.example.org", ["metrics.example.org"], profile: "server");
        Assert.Equal(HttpStatusCode.Created, (await factory.EnrollAsync(serverToken, Csrs.P256("metrics.example.org"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await factory.EnrollAsync("pki_et_not-a-token", Csrs.P256("metrics-bad"))).StatusCode);
        var foreignCsrToken = await factory.CreateTokenAsync("metrics-refused");
        Assert.Equal(HttpStatusCode.BadRequest, (await factory.EnrollAsync(foreignCsrToken, Csrs.Tampered("metrics-refused"))).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/v1/certificates/{revoked}/revoke", new { reason = "keyCompromise" })).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsJsonAsync($"/api/v1/certificates/{revoked}/revoke", new { reason = "keyCompromise" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsJsonAsync("/api/v1/certificates/0A0B0C/revoke", new { reason = "keyCompromise" })).StatusCode);

        var issuer = OcspClient.Parse(await client.GetByteArrayAsync("/pki/ca.crt"));
        await OcspClient.PostAsync(client, OcspClient.Request(issuer, good));
        await OcspClient.PostAsync(client, OcspClient.Request(issuer, good)); // from the cache, counted all the same
        await OcspClient.PostAsync(client, OcspClient.Request(issuer, revoked));
        await OcspClient.PostAsync(client, OcspClient.Request(issuer, "7F00112233"));
        await client.GetAsync("/ocsp/not-base64!");

        var response = await client.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(2, PrometheusText.Value(text, "pki_certificates_issued_total", ("profile", "client"), ("outcome", "success")));
        Assert.Equal(1, PrometheusText.Value(text, "pki_certificates_issued_total", ("profile", "server"), ("outcome", "success")));
        Assert.Equal(1, PrometheusText.Value(text, "pki_certificates_issued_total", ("profile", "none"), ("outcome", "unauthorized")));
        Assert.Equal(1, PrometheusText.Value(text, "pki_certificates_issued_total", ("profile", "client"), ("outcome", "rejected")));
        Assert.Equal(1, PrometheusText.Value(text, "pki_certificates_revoked_total", ("profile", "client"), ("outcome", "success")));
        Assert.Equal(1, PrometheusText.Value(text, "pki_certificates_revoked_total", ("profile", "client"), ("outcome", "conflict")));
        Assert.Equal(1, PrometheusText.Value(text, "pki_certificates_revoked_total", ("profile", "none"), ("outcome", "not_found")));
        Assert.Equal(2, PrometheusText.Value(text, "pki_ocsp_requests_total", ("status", "good")));
        Assert.Equal(1, PrometheusText.Value(text, "pki_ocsp_requests_total", ("status", "revoked")));
        Assert.Equal(1, PrometheusText.Value(text, "pki_ocsp_requests_total", ("status", "unknown")));
        Assert.Equal(1, PrometheusText.Value(text, "pki_ocsp_requests_total", ("status", "malformed")));
        Assert.Equal(5, PrometheusText.Value(text, "pki_ocsp_request_duration_seconds_count"));
        Assert.Equal(5, PrometheusText.Value(text, "pki_ocsp_request_duration_seconds_bucket", ("le", "+Inf")));
        // The OCSP cache holds the good and the revoked answers (not the unknown one), their request bytes and statuses.
        foreach (var table in new[] { "replies", "requests", "statuses" })
        {
            Assert.Equal(2, PrometheusText.Value(text, "pki_ocsp_cache_entries", ("table", table)));
            Assert.Equal(0, PrometheusText.Value(text, "pki_ocsp_cache_evictions_total", ("table", table)));
        }
        Assert.InRange(PrometheusText.Value(text, "pki_ocsp_cache_size_bytes", ("table", "replies")) ?? 0, 2 * 600, 2 * 4000);
        Assert.Equal(2 * 256, PrometheusText.Value(text, "pki_ocsp_cache_size_bytes", ("table", "statuses")));
        // Every enrollment that got a certificate went through a group commit.
        Assert.Equal(3, PrometheusText.Value(text, "pki_issuance_commit_batch_size_sum"));
        Assert.InRange(PrometheusText.Value(text, "pki_issuance_commit_duration_seconds_count") ?? 0, 1, 3);
        // Start-up publishes once, the revocation once more.
        Assert.Equal(2, PrometheusText.Value(text, "pki_crl_build_duration_seconds_count"));
        Assert.Equal(1, PrometheusText.Value(text, "pki_crl_entries", ("ca", "issuing-ca")));
        Assert.Equal(0, PrometheusText.Value(text, "pki_crl_entries", ("ca", "root-ca")));
        Assert.InRange(PrometheusText.Value(text, "pki_crl_size_bytes", ("ca", "issuing-ca")) ?? 0, 200, 2000);
        // The revoked P3D certificate is not active; the server certificate (default P90D) and the P90D one are not due.
        Assert.Equal(0, PrometheusText.Value(text, "pki_certificates_expiring_soon"));
        Assert.InRange(PrometheusText.Value(text, "pki_ocsp_responder_days_left", ("ca", "issuing-ca")) ?? 0, 29.9, 30);
        Assert.InRange(PrometheusText.Value(text, "pki_ca_days_left", ("ca", "issuing-ca")) ?? 0, 1824, 1827);
        Assert.InRange(PrometheusText.Value(text, "pki_ca_days_left", ("ca", "root-ca")) ?? 0, 3650, 3654);
    }

    [Fact]
    public async Task Metrics_ExpiringWithinSevenDays_CountsActiveCertificatesOnly()
    {
        using var factory = new PkiApiFactory();
        using var admin = factory.CreateAdminClient();
        using var client = factory.CreateClient();
        await EnrollAsync(factory, "soon-1", "P2D");
        await EnrollAsync(factory, "soon-2", "P6D");
        var revoked = await EnrollAsync(factory, "soon-revoked", "P1D");
        await EnrollAsync(factory, "later", "P30D");
        (await admin.PostAsJsonAsync($"/api/v1/certificates/{revoked}/revoke", new { reason = "superseded" })).EnsureSuccessStatusCode();

        var text = await client.GetStringAsync("/metrics");

        Assert.Equal(2, PrometheusText.Value(text, "pki_certificates_expiring_soon"));
    }

    [Fact]
    public async Task Metrics_Disabled_Returns404()
    {
        using var factory = new PkiApiFactory(settings: new Dictionary<string, string?> { ["Metrics:Enabled"] = "false" });
        using var client = factory.CreateClient();

        var response = await client.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private static async Task<string> EnrollAsync(PkiApiFactory factory, string commonName, string validity)
    {
        var token = await factory.CreateTokenAsync(commonName);
        var response = await factory.EnrollAsync(token, Csrs.P256(commonName), validity);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!.SerialNumber;
    }
}
