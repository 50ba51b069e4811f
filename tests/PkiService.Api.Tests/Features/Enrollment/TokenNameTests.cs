using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using PkiService.Api.Tests.Support;

namespace PkiService.Api.Tests.Features.Enrollment;

/// <summary>Names on enrollment tokens are checked and stored in the form they are issued in (issue #10 point 6).</summary>
public sealed class TokenNameTests : IClassFixture<TokenNameTests.Host>
{
    public sealed class Host : IDisposable
    {
        public PkiApiFactory Factory { get; } = new();

        public void Dispose() => Factory.Dispose();
    }

    private readonly PkiApiFactory _factory;

    public TokenNameTests(Host host) => _factory = host.Factory;

    public static TheoryData<string, string[], string, string> InvalidNames => new()
    {
        { "client-1", ["a b.example"], "sans", "a b.example" },
        { "client-1", ["a/b.example"], "sans", "a/b.example" },
        { "client-1", [new string('a', 64) + ".example"], "sans", "at most 63" },
        { "client-1", ["*"], "sans", "bare '*'" },
        { "client-1", ["*.org"], "sans", "*.org" },
        { "client-1", ["b\u202Eexample.org"], "sans", "U+202E" },
        { "client-1", ["a\u200Bb.example"], "sans", "U+200B" },
        { "client-1", ["010.0.0.1"], "sans", "leading zeros" },
        { "client-1", ["spiffe://example.org/team-a/../team-b"], "sans", "dot segment" },
        { "client\u202E1", [], "commonName", "U+202E" },
        { "client\u200B1", [], "commonName", "U+200B" },
    };

    [Theory]
    [MemberData(nameof(InvalidNames))]
    public async Task CreateToken_InvalidName_Returns400NamingTheValue(string commonName, string[] sans, string field, string named)
    {
        using var admin = _factory.CreateAdminClient();

        var response = await admin.PostAsJsonAsync("/api/v1/enrollment-tokens", new { commonName, sans });

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        // Each SAN's errors are keyed by its position, such as sans[0].
        var errors = problem.GetProperty("errors").EnumerateObject()
            .Where(p => p.Name == field || p.Name.StartsWith(field + "[", StringComparison.Ordinal))
            .SelectMany(p => p.Value.EnumerateArray()).Select(e => e.GetString()!).ToList();
        Assert.Contains(errors, e => e.Contains(named, StringComparison.Ordinal));
    }

    [Fact]
    public async Task CreateToken_IdnSan_IsStoredAsALabel_AndIssuedAsALabel()
    {
        using var admin = _factory.CreateAdminClient();
        var created = await (await admin.PostAsJsonAsync("/api/v1/enrollment-tokens",
            new { commonName = "bücher", sans = new[] { "Bücher.example" } })).Content.ReadFromJsonAsync<PkiApiFactory.TokenResponse>();
        var view = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/enrollment-tokens/{created!.Id}");
        Assert.Equal(["xn--bcher-kva.example"], view.GetProperty("sans").EnumerateArray().Select(e => e.GetString()));

        // The CSR leaves the SANs out, so the certificate carries the token's (stored) names.
        var response = await _factory.EnrollAsync(created.Token, Csrs.P256("bücher"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        using var certificate = X509Certificate2.CreateFromPem(body.Certificate);
        var san = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["xn--bcher-kva.example"], san.EnumerateDnsNames());
    }

    [Fact]
    public async Task CreateToken_UrnSan_IsAUri_AndEnrollsAsUri()
    {
        const string urn = "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6";
        var token = await _factory.CreateTokenAsync("device-urn", [urn]);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=device-urn", key, HashAlgorithmName.SHA256);
        var sans = new SubjectAlternativeNameBuilder();
        sans.AddUri(new Uri(urn));
        request.CertificateExtensions.Add(sans.Build());

        var response = await _factory.EnrollAsync(token, request.CreateSigningRequestPem());

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        using var certificate = X509Certificate2.CreateFromPem(body.Certificate);
        Assert.Contains("URI:" + urn, certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().Format(false), StringComparison.Ordinal);
    }
}
