using System.Net;
using System.Net.Http.Json;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;
using PkiService.Api.Tests.Support;
using PkiService.Api.Issuance;

namespace PkiService.Api.Tests.Features.Crl;

public abstract class CrlEndpointTests(TestDatabase database)
{
    [SkippableFact]
    public async Task Crl_IsSignedByIssuingCaWithCacheHeaders_AndIfNoneMatchGives304()
    {
        using var factory = new PkiApiFactory(database: database);
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

    [SkippableFact]
    public async Task CrlNumber_IncreasesWithEachRevocationAndAcrossRestart()
    {
        string directory;
        var numbers = new List<long>();
        using (var factory = new PkiApiFactory(database: database))
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
        using (var restarted = new PkiApiFactory(directory, database: database))
        {
            using var client = restarted.CreateClient();
            numbers.Add(await CrlNumberAsync(client));
            var crl = new X509CrlParser().ReadCrl(await client.GetByteArrayAsync("/pki/crl"));
            Assert.Equal(2, crl.GetRevokedCertificates().Count);
        }

        Assert.Equal(numbers.Order().Distinct(), numbers); // strictly increasing
    }

    [SkippableFact]
    public async Task RootCrlAndBundle_AreServedAndSignedByTheirCas()
    {
        using var factory = new PkiApiFactory(database: database);
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

    [SkippableFact]
    public async Task Revoke_ListsSerialInDeltaAndCompleteCrl_DeltaNamesBaseAndCertificatesPointAtIt()
    {
        using var factory = new PkiApiFactory(database: database);
        using var client = factory.CreateClient();
        using var admin = factory.CreateAdminClient();
        var issuer = OcspClient.Parse(await client.GetByteArrayAsync("/pki/ca.crt"));
        var initialDelta = new X509CrlParser().ReadCrl(await client.GetByteArrayAsync("/pki/delta.crl"));
        var baseNumber = Extension<DerInteger>(initialDelta, X509Extensions.DeltaCrlIndicator).LongValueExact;
        var token = await factory.CreateTokenAsync("delta");
        var enrolled = await (await factory.EnrollAsync(token, Csrs.P256("delta"))).Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>();
        var certificate = OcspClient.Parse(Convert.FromBase64String(string.Concat(enrolled!.Certificate.Split('\n').Where(l => !l.StartsWith("-----", StringComparison.Ordinal)))));

        (await admin.PostAsJsonAsync($"/api/v1/certificates/{enrolled.SerialNumber}/revoke", new { reason = "keyCompromise" })).EnsureSuccessStatusCode();

        // RFC 5280 4.2.1.15: the certificate says where the delta CRL is, non-critically.
        var freshest = CrlDistPoint.GetInstance(Asn1Object.FromByteArray(certificate.GetExtensionValue(X509Extensions.FreshestCrl).GetOctets()));
        Assert.EndsWith("/pki/delta.crl", GeneralNames.GetInstance(freshest.GetDistributionPoints()[0].DistributionPointName.Name).GetNames()[0].Name.ToString(), StringComparison.Ordinal);
        var response = await client.GetAsync("/pki/delta.crl");
        Assert.Equal("application/pkix-crl", response.Content.Headers.ContentType?.MediaType);
        var delta = new X509CrlParser().ReadCrl(await response.Content.ReadAsByteArrayAsync());
        delta.Verify(issuer.GetPublicKey());
        Assert.Contains(X509Extensions.DeltaCrlIndicator.Id, delta.GetCriticalExtensionOids());
        Assert.Equal(baseNumber, Extension<DerInteger>(delta, X509Extensions.DeltaCrlIndicator).LongValueExact); // same base until the timer re-issues it
        Assert.NotNull(delta.GetRevokedCertificate(certificate.SerialNumber));
        var complete = new X509CrlParser().ReadCrl(await client.GetByteArrayAsync("/pki/crl"));
        Assert.NotNull(complete.GetRevokedCertificate(certificate.SerialNumber)); // nginx ssl_crl reads complete CRLs only
        Assert.NotNull(complete.GetExtensionValue(X509Extensions.FreshestCrl));
        // RFC 5280 5.2.4: one number sequence; the delta is newer than the complete CRL published with it.
        var deltaNumber = Extension<DerInteger>(delta, X509Extensions.CrlNumber).LongValueExact;
        Assert.Equal(await CrlNumberAsync(client) + 1, deltaNumber);
        Assert.True(deltaNumber > baseNumber);

        using var conditional = new HttpRequestMessage(HttpMethod.Get, "/pki/delta.crl");
        conditional.Headers.IfNoneMatch.Add(response.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await client.SendAsync(conditional)).StatusCode);
        Assert.NotNull(response.Headers.CacheControl?.MaxAge);
        Assert.StartsWith("-----BEGIN X509 CRL-----", await client.GetStringAsync("/pki/delta.crl.pem"), StringComparison.Ordinal);
    }

    private static T Extension<T>(X509Crl crl, DerObjectIdentifier oid) where T : Asn1Object =>
        (T)Asn1Object.FromByteArray(Asn1OctetString.GetInstance(crl.GetExtensionValue(oid)).GetOctets());

    private static async Task<long> CrlNumberAsync(HttpClient client)
    {
        var crl = new X509CrlParser().ReadCrl(await client.GetByteArrayAsync("/pki/crl"));
        return DerInteger.GetInstance(Asn1OctetString.GetInstance(crl.GetExtensionValue(X509Extensions.CrlNumber)).GetOctets()).LongValueExact;
    }
}

/// <summary><see cref="CrlEndpointTests"/> on the embedded SQLite file.</summary>
public sealed class CrlEndpointTestsOnSqlite() : CrlEndpointTests(TestDatabase.Sqlite);

/// <summary><see cref="CrlEndpointTests"/> on a real PostgreSQL database.</summary>
public sealed class CrlEndpointTestsOnPostgres() : CrlEndpointTests(TestDatabase.Postgres);
