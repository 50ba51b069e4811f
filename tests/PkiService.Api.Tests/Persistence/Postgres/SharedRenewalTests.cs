using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using PkiService.Api.Tests.Support;
using PkiService.Persistence;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Tests.Persistence.Postgres;

/// <summary>
/// Renewal raced across two hosts on one PostgreSQL database, as two nodes behind a load balancer see it when a client
/// retries on another node: the certificate renews exactly once, whichever node wins.
/// </summary>
public sealed class SharedRenewalTests
{
    private const string SpiffeId = "spiffe://example.org/raced-across-nodes";

    [SkippableFact]
    public async Task Renew_RacedOnTwoHostsSharingOneDatabase_ExactlyOneRenewal()
    {
        using var first = new PkiApiFactory(mtlsListener: true, database: TestDatabase.Postgres);
        _ = first.Services;
        using var second = new PkiApiFactory(mtlsListener: true, database: TestDatabase.Postgres, databaseOf: first.DataDirectory);
        _ = second.Services;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var token = await first.CreateTokenAsync("raced-renewal", [SpiffeId]);
        var enrolled = await first.EnrollAsync(token, Csr(key, "raced-renewal"));
        Assert.Equal(HttpStatusCode.Created, enrolled.StatusCode);
        var body = (await enrolled.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        using var pem = X509Certificate2.CreateFromPem(body.Certificate);
        using var certificate = pem.CopyWithPrivateKey(key);

        // Four renewals on each node at once, every one with a fresh key.
        var answers = await Task.WhenAll(new[] { first, second, first, second, first, second, first, second }.Select(async host =>
        {
            using var newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            using var client = host.CreateMtlsClient(certificate);
            return await client.PostAsJsonAsync("/api/v1/renew", new { csr = Csr(newKey, "raced-renewal") });
        }));

        Assert.Equal(1, answers.Count(a => a.StatusCode == HttpStatusCode.Created));
        Assert.All(answers.Where(a => a.StatusCode != HttpStatusCode.Created), a => Assert.Equal(HttpStatusCode.Unauthorized, a.StatusCode));
        var renewed = (await answers.Single(a => a.StatusCode == HttpStatusCode.Created).Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        await using var scope = second.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();
        var rows = await db.Certificates.AsNoTracking().Where(c => c.CommonName == "raced-renewal").ToListAsync();
        Assert.Equal(2, rows.Count);
        var old = rows.Single(r => r.SerialNumber == body.SerialNumber);
        Assert.Equal(CertificateStatus.Superseded, old.Status);
        Assert.Equal(renewed.SerialNumber, old.SupersededBy);
        Assert.Equal(CertificateStatus.Active, rows.Single(r => r.SerialNumber == renewed.SerialNumber).Status);
    }

    private static string Csr(ECDsa key, string commonName)
    {
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var sans = new SubjectAlternativeNameBuilder();
        sans.AddUri(new Uri(SpiffeId));
        request.CertificateExtensions.Add(sans.Build());
        return request.CreateSigningRequestPem();
    }
}
