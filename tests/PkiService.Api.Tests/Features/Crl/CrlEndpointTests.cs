using System.Net;
using System.Net.Http.Json;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;
using PkiService.Api.Tests.Support;

namespace PkiService.Api.Tests.Features.Crl;

public sealed class CrlEndpointTests
{
    [Fact]
    public async Task Crl_IsSignedByIssuingCaWithCacheHeaders_AndIfNoneMatchGives304()
    {
        using var factory = new PkiApiFactory();
        using var client = factory.CreateClient();
        var issuer = OcspClient.Parse(await client.GetByteArrayAsync("/pki/ca.crt"));

        var response = await client.GetAsync("/pki/crl");

        Assert.Equal("application/pkix-crl", response.Content.Headers.ContentType?.MediaType);
        var crl = new X509CrlParser().ReadCrl(await response.Content.ReadAsByteArrayAsync());
        crl.Verify(issuer.GetPublicKey());
        Assert.Equal(issuer.SubjectDN, crl.IssuerDN);
        Assert.NotNull(crl.GetExtensionValue(X509Extensions.AuthorityKeyIdentifier));
        Assert.True((crl.NextUpdate!.Value - crl.ThisUpdate).TotalHours is > 23.9 and < 24.1, "Crl:Validity defaults to P1D");
        var maxAge = response.Headers.CacheControl!.MaxAge!.Value;
        Assert.InRange(maxAge, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));
        Assert.NotNull(response.Content.Headers.LastModified);
        var etag = response.Headers.ETag!;

        using var conditional = new HttpRequestMessage(HttpMethod.Get, "/pki/crl");
        conditional.Headers.IfNoneMatch.Add(etag);
        Assert.Equal(HttpStatusCode.NotModified, (await client.SendAsync(conditional)).StatusCode);
    }

    [Fact]
    public async Task CrlNumber_IncreasesWithEachRevocationAndAcrossRestart()
    {
        string directory;
        var numbers = new List<long>();
        using (var factory = new PkiApiFactory())
        {
            directory = factory.DataDirectory;
            using var client = factory.CreateClient();
            numbers.Add(await CrlNumberAsync(client));
            using var admin = factory.CreateAdminClient();
            for (var i = 0; i < 2; i++)
            {
                var token = await factory.CreateTokenAsync($"n{i}");
                var enrolled = await (await factory.EnrollAsync(token, Csrs.P256($"n{i}"))).Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>();
                (await admin.PostAsJsonAsync($"/api/v1/certificates/{enrolled!.SerialNumber}/revoke", new { reason = "superseded" })).EnsureSuccessStatusCode();
                numbers.Add(await CrlNumberAsync(client));
            }
        }
        using (var restarted = new PkiApiFactory(directory))
        {
            using var client = restarted.CreateClient();
            numbers.Add(await CrlNumberAsync(client));
            var crl = new X509CrlParser().ReadCrl(await client.GetByteArrayAsync("/pki/crl"));
            Assert.Equal(2, crl.GetRevokedCertificates().Count);
        }

        Assert.Equal(numbers.Order().Distinct(), numbers); // strictly increasing
    }

    [Fact]
    public async Task RootCrlAndBundle_AreServedAndSignedByTheirCas()
    {
        using var factory = new PkiApiFactory();
        using var client = factory.CreateClient();
        var root = OcspClient.Parse(await client.GetByteArrayAsync("/pki/root.crt"));
        var issuing = OcspClient.Parse(await client.GetByteArrayAsync("/pki/ca.crt"));

        var rootCrl = new X509CrlParser().ReadCrl(await client.GetByteArrayAsync("/pki/root.crl"));
        rootCrl.Verify(root.GetPublicKey());
        Assert.Null(rootCrl.GetRevokedCertificates());

        var bundle = await client.GetStringAsync("/pki/crl-bundle.pem");
        var crls = new X509CrlParser().ReadCrls(System.Text.Encoding.ASCII.GetBytes(bundle)).ToList();
        Assert.Equal(2, crls.Count);
        crls[0].Verify(issuing.GetPublicKey());
        crls[1].Verify(root.GetPublicKey());
        var pem = await client.GetStringAsync("/pki/crl.pem");
        Assert.StartsWith("-----BEGIN X509 CRL-----", pem, StringComparison.Ordinal);
    }

    private static async Task<long> CrlNumberAsync(HttpClient client)
    {
        var crl = new X509CrlParser().ReadCrl(await client.GetByteArrayAsync("/pki/crl"));
        return DerInteger.GetInstance(Asn1OctetString.GetInstance(crl.GetExtensionValue(X509Extensions.CrlNumber)).GetOctets()).LongValueExact;
    }
}
