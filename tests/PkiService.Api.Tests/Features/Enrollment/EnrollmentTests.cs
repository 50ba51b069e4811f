using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using PkiService.Api.Tests.Support;
using PkiService.Api.Issuance;
using PkiService.Tests.Shared;
using Org.BouncyCastle.Asn1.X509;

namespace PkiService.Api.Tests.Features.Enrollment;

public abstract class EnrollmentTests
{
    public abstract class Host(TestDatabase database) : IDisposable
    {
        public PkiApiFactory Factory { get; } = new(database: database);

        public void Dispose()
        {
            Factory.Dispose();
            GC.SuppressFinalize(this);
        }
    }

    private readonly PkiApiFactory _factory;

    protected EnrollmentTests(Host host) => _factory = host.Factory;

    [SkippableFact]
    public async Task Enroll_P256CsrWithSpiffeSan_Returns201WithChainValidCertificate()
    {
        var token = await _factory.CreateTokenAsync("client-1", ["spiffe://example.org/client-1", "client-1.example.org"]);

        var response = await _factory.EnrollAsync(token, Csrs.P256("client-1", "spiffe://example.org/client-1"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        Assert.Matches("^[0-9A-F]{32}$", body.SerialNumber);
        using var certificate = X509Certificate2.CreateFromPem(body.Certificate);
        Assert.Equal(body.SerialNumber, certificate.SerialNumber);
        Assert.Equal("CN=client-1", certificate.Subject);

        // Path validation by a second parser: .NET's chain builder against the returned chain.
        var chain = new X509Certificate2Collection();
        chain.ImportFromPem(body.Chain);
        Assert.Equal(2, chain.Count);
        using var builder = new X509Chain();
        builder.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        builder.ChainPolicy.CustomTrustStore.Add(chain[1]);
        builder.ChainPolicy.ExtraStore.Add(chain[0]);
        builder.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        Assert.True(builder.Build(certificate), string.Join("; ", builder.ChainStatus.Select(s => s.StatusInformation)));

        var basic = certificate.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.True(basic.Critical);
        Assert.False(basic.CertificateAuthority);
        var keyUsage = certificate.Extensions.OfType<X509KeyUsageExtension>().Single();
        Assert.True(keyUsage.Critical);
        Assert.Equal(X509KeyUsageFlags.DigitalSignature, keyUsage.KeyUsages);
        var eku = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single();
        Assert.Equal(["1.3.6.1.5.5.7.3.2"], eku.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value!));
        Assert.Single(certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>());
        Assert.Single(certificate.Extensions.OfType<X509AuthorityKeyIdentifierExtension>());
        var san = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Contains("URI:spiffe://example.org/client-1", san.Format(false), StringComparison.Ordinal);
        Assert.DoesNotContain("client-1.example.org", san.Format(false), StringComparison.Ordinal); // only what the CSR asked for
        var aia = certificate.Extensions.OfType<X509AuthorityInformationAccessExtension>().Single();
        Assert.Equal(["http://pki.test/ocsp"], aia.EnumerateOcspUris());
        Assert.Equal(["http://pki.test/pki/ca.crt"], aia.EnumerateCAIssuersUris());
        var cdp = certificate.Extensions.Single(e => e.Oid!.Value == "2.5.29.31");
        Assert.Contains("http://pki.test/pki/crl", Encoding.ASCII.GetString(cdp.RawData), StringComparison.Ordinal);

        Assert.Equal(TimeSpan.FromDays(90) + TimeSpan.FromMinutes(1), body.NotAfter - body.NotBefore);
        Assert.True(body.NotBefore < DateTimeOffset.UtcNow.AddSeconds(-50), "notBefore is backdated a minute");
    }

    [SkippableTheory]
    [InlineData("rsa2048")]
    [InlineData("p256")]
    [InlineData("p384")]
    [InlineData("ed25519")]
    public async Task Enroll_AcceptedKeyType_Returns201(string keyType)
    {
        var token = await _factory.CreateTokenAsync("device-" + keyType);
        var csr = keyType switch
        {
            "rsa2048" => Csrs.Rsa("device-" + keyType, 2048),
            "p256" => Csrs.P256("device-" + keyType),
            "p384" => Csrs.Ecdsa("device-" + keyType, ECCurve.NamedCurves.nistP384),
            _ => Csrs.Ed25519("device-" + keyType),
        };

        var response = await _factory.EnrollAsync(token, csr);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    public static TheoryData<string, string> RejectedBodies => new()
    {
        { "rsa1024", Json(Csrs.Rsa("client-2", 1024)) },
        { "tampered signature", Json(Csrs.Tampered("client-2")) },
        { "garbage csr", Json("-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgY3Ny\n-----END CERTIFICATE REQUEST-----\n") },
        { "not pem", Json("hello") },
        { "cn not allowed", Json(Csrs.P256("someone-else")) },
        { "san not allowed", Json(Csrs.P256("client-2", "spiffe://example.org/intruder")) },
        { "broken json", "{\"csr\": " },
        { "wrong json type", "{\"csr\": 42}" },
        { "missing csr", "{}" },
        { "bad validity", Json(Csrs.P256("client-2"), "ninety days") },
    };

    [SkippableTheory]
    [MemberData(nameof(RejectedBodies))]
    public async Task Enroll_RejectedInput_Returns400AndLeavesTokenUsable(string scenario, string body)
    {
        var token = await _factory.CreateTokenAsync("client-2", ["spiffe://example.org/client-2"]);

        var refused = await PostRawAsync(token, body);

        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.BadRequest);
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()), scenario);
        var accepted = await _factory.EnrollAsync(token, Csrs.P256("client-2", "spiffe://example.org/client-2"));
        Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
    }

    /// <summary>CSRs with a malformed subjectAltName, built with BouncyCastle; an 8-octet IP once answered 500.</summary>
    public static TheoryData<string, string, string> MalformedSubjectAltNames => new()
    {
        { "8-octet IP", Pem(RawCsrs.WithSubjectAltNames("client-6", RawCsrs.GeneralName(GeneralName.IPAddress, new byte[8]))), "iPAddress of 8 octets" },
        { "UTF-8 dNSName", Pem(RawCsrs.WithSubjectAltNames("client-6", RawCsrs.GeneralName(GeneralName.DnsName, Encoding.UTF8.GetBytes("bücher.example")))), "must be printable ASCII" },
        { "relative URI", Pem(RawCsrs.WithSubjectAltNames("client-6", RawCsrs.GeneralName(GeneralName.UniformResourceIdentifier, "client-6"))), "is not an absolute URI" },
        { "two subjectAltName extensions", Pem(RawCsrs.WithExtensions("client-6",
            RawCsrs.SubjectAltNameExtension(RawCsrs.GeneralName(GeneralName.UniformResourceIdentifier, "spiffe://example.org/client-6")),
            RawCsrs.SubjectAltNameExtension(RawCsrs.GeneralName(GeneralName.IPAddress, [10, 0, 0, 6])))), "more than once" },
        { "unparseable extension", Pem(RawCsrs.WithExtensions("client-6", RawCsrs.Extension(X509Extensions.SubjectAlternativeName, [0x30, 0x05, 0x82]))), "not a GeneralNames" },
    };

    [SkippableTheory]
    [MemberData(nameof(MalformedSubjectAltNames))]
    public async Task Enroll_MalformedSubjectAltName_Returns400NamingItAndLeavesTokenUsable(string scenario, string csr, string expected)
    {
        var token = await _factory.CreateTokenAsync("client-6", ["spiffe://example.org/client-6"]);

        var refused = await _factory.EnrollAsync(token, csr);

        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.BadRequest);
        var title = problem.GetProperty("title").GetString()!;
        Assert.True(title.Contains(expected, StringComparison.Ordinal), $"{scenario}: {title}");
        var accepted = await _factory.EnrollAsync(token, Csrs.P256("client-6", "spiffe://example.org/client-6"));
        Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
    }

    [SkippableTheory]
    [InlineData("MD5WITHRSA", "md5WithRSAEncryption (MD5)")]
    [InlineData("SHA1WITHRSA", "sha1WithRSAEncryption (SHA-1)")]
    [InlineData("SHA1WITHECDSA", "ecdsa-with-SHA1 (SHA-1)")]
    public async Task Enroll_CsrSignedWithMd5OrSha1_Returns400NamingAlgorithmAndFix(string algorithm, string named)
    {
        var token = await _factory.CreateTokenAsync("client-7");

        var refused = await _factory.EnrollAsync(token, Csrs.SignedWith("client-7", algorithm));

        var title = (await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.BadRequest)).GetProperty("title").GetString()!;
        Assert.Contains(named, title, StringComparison.Ordinal);
        Assert.Contains("SHA-256", title, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, (await _factory.EnrollAsync(token, Csrs.SignedWith("client-7", "SHA256WITHECDSA"))).StatusCode);
    }

    [SkippableFact]
    public async Task Enroll_ReusedToken_Returns401()
    {
        var token = await _factory.CreateTokenAsync("client-3");
        Assert.Equal(HttpStatusCode.Created, (await _factory.EnrollAsync(token, Csrs.P256("client-3"))).StatusCode);

        var again = await _factory.EnrollAsync(token, Csrs.P256("client-3"));

        await ProblemAssert.IsProblemAsync(again, HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", again.Headers.WwwAuthenticate.Single().Scheme);
    }

    [SkippableTheory]
    [InlineData(null)]
    [InlineData("pki_et_not-a-real-token")]
    public async Task Enroll_MissingOrUnknownToken_Returns401(string? token)
    {
        using var client = _factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/enroll") { Content = JsonContent.Create(new { csr = Csrs.P256("x") }) };
        if (token is not null)
        {
            request.Headers.Authorization = new("Bearer", token);
        }

        var response = await client.SendAsync(request);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
    }

    [SkippableFact]
    public async Task Enroll_ThreeMegabyteBody_Returns413AndLeavesTokenUsable()
    {
        var token = await _factory.CreateTokenAsync("client-4");
        var huge = Json(new string('A', 3 * 1024 * 1024));

        // With 'Expect: 100-continue' (as curl sends for large bodies) the server refuses before the body is sent;
        // without it the server may close the connection while the client is still writing (a broken pipe).
        var response = await PostRawAsync(token, huge, expectContinue: true);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(HttpStatusCode.Created, (await _factory.EnrollAsync(token, Csrs.P256("client-4"))).StatusCode);
    }

    [SkippableFact]
    public async Task Enroll_ValidityOverProfileMaximum_IsCappedAt397Days()
    {
        var token = await _factory.CreateTokenAsync("client-5");

        var response = await _factory.EnrollAsync(token, Csrs.P256("client-5"), validity: "P1000D");

        var body = (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        Assert.Equal(TimeSpan.FromDays(397) + TimeSpan.FromMinutes(1), body.NotAfter - body.NotBefore);
    }

    [SkippableFact]
    public async Task CreateToken_ServerProfileWithoutSan_EnrollmentIsRefused()
    {
        var token = await _factory.CreateTokenAsync("svc", profile: "server");

        var response = await _factory.EnrollAsync(token, Csrs.P256("svc"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [SkippableTheory]
    [InlineData("{\"commonName\": \"\"}")]
    [InlineData("{\"commonName\": \"a\", \"profile\": \"root\"}")]
    [InlineData("{\"commonName\": \"a\", \"ttl\": \"P30D\"}")]
    [InlineData("{\"commonName\": \"a\", \"contactEmail\": \"nope\"}")]
    [InlineData("{\"commonName\": [1]}")]
    public async Task CreateToken_InvalidBody_Returns400WithErrors(string json)
    {
        using var admin = _factory.CreateAdminClient();

        var response = await admin.PostAsync("/api/v1/enrollment-tokens", new StringContent(json, Encoding.UTF8, "application/json"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [SkippableTheory]
    [InlineData(null)]
    [InlineData("pki_ak_wrong")]
    public async Task CreateToken_WithoutValidApiKey_Returns401(string? key)
    {
        using var client = _factory.CreateClient();
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        }

        var response = await client.PostAsJsonAsync("/api/v1/enrollment-tokens", new { commonName = "x" });

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
    }

    [SkippableFact]
    public async Task CreateToken_EnrollmentTokenAsApiKey_Returns401()
    {
        var token = await _factory.CreateTokenAsync("client-6");
        using var client = _factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);

        var response = await client.PostAsJsonAsync("/api/v1/enrollment-tokens", new { commonName = "x" });

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
    }

    private async Task<HttpResponseMessage> PostRawAsync(string token, string json, bool expectContinue = false)
    {
        using var client = _factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/enroll") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", token);
        request.Headers.ExpectContinue = expectContinue;
        return await client.SendAsync(request);
    }

    private static string Pem(byte[] der) => System.Security.Cryptography.PemEncoding.WriteString("CERTIFICATE REQUEST", der);

    private static string Json(string csr, string? validity = null) =>
        System.Text.Json.JsonSerializer.Serialize(new { csr, validity });
}

/// <summary>The host of <see cref="EnrollmentTestsOnSqlite"/>.</summary>
public sealed class EnrollmentTestsSqliteHost() : EnrollmentTests.Host(TestDatabase.Sqlite);

/// <summary>The host of <see cref="EnrollmentTestsOnPostgres"/>.</summary>
public sealed class EnrollmentTestsPostgresHost() : EnrollmentTests.Host(TestDatabase.Postgres);

/// <summary><see cref="EnrollmentTests"/> on the embedded SQLite file.</summary>
public sealed class EnrollmentTestsOnSqlite(EnrollmentTestsSqliteHost host) : EnrollmentTests(host), IClassFixture<EnrollmentTestsSqliteHost>;

/// <summary><see cref="EnrollmentTests"/> on a real PostgreSQL database.</summary>
public sealed class EnrollmentTestsOnPostgres(EnrollmentTestsPostgresHost host) : EnrollmentTests(host), IClassFixture<EnrollmentTestsPostgresHost>;
