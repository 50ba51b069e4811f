using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using PkiService.Api.Infrastructure;
using PkiService.Api.Tests.Support;

namespace PkiService.Api.Tests.Issuance;

/// <summary>
/// <c>renewAfter</c> in the JSON answers of enrollment and renewal (issue 15, WIRE15.md): notBefore + fraction ×
/// lifetime, rounded down to the second, serialized like notBefore; the fraction is <c>Renewal:RenewAfterFraction</c>.
/// </summary>
public sealed class RenewAfterTests : IDisposable
{
    private const string SpiffeId = "spiffe://example.org/hinted";

    private readonly List<PkiApiFactory> _factories = [];

    public void Dispose()
    {
        foreach (var factory in _factories)
        {
            factory.Dispose();
        }
    }

    [SkippableFact]
    public async Task Enroll_Answer_CarriesRenewAfterAtTwoThirdsOfTheLifetime()
    {
        var factory = Factory();
        var token = await factory.CreateTokenAsync("hinted", [SpiffeId]);

        var response = await factory.EnrollAsync(token, Csrs.P256("hinted", SpiffeId), "P30D");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var json = (await response.Content.ReadFromJsonAsync<JsonElement>());
        AssertRenewAfter(json, 0.6667);
    }

    [SkippableFact]
    public async Task Renew_Answer_CarriesRenewAfterAtTwoThirdsOfTheLifetime()
    {
        var factory = Factory(mtlsListener: true);
        var old = await EnrollAsync(factory, "renew-hinted", "P1D");
        using var client = factory.CreateMtlsClient(old);

        var response = await client.PostAsJsonAsync("/api/v1/renew", new { csr = Csrs.P256("renew-hinted", SpiffeId) });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        AssertRenewAfter(await response.Content.ReadFromJsonAsync<JsonElement>(), 0.6667);
    }

    [SkippableFact]
    public async Task Enroll_ConfiguredFraction_MovesRenewAfter()
    {
        var factory = Factory(new Dictionary<string, string?> { ["Renewal:RenewAfterFraction"] = "0.5" });
        var token = await factory.CreateTokenAsync("half", [SpiffeId]);

        var response = await factory.EnrollAsync(token, Csrs.P256("half", SpiffeId), "P10D");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        AssertRenewAfter(json, 0.5);
        var body = json.Deserialize<PkiApiFactory.EnrollmentResponse>(JsonSerializerOptions.Web)!;
        // P10D plus the one-minute backdate: half of it after notBefore.
        Assert.Equal(body.NotBefore + TimeSpan.FromDays(5) + TimeSpan.FromSeconds(30), body.RenewAfter);
    }

    [SkippableTheory]
    [InlineData("0.05")]
    [InlineData("0.96")]
    [InlineData("1.5")]
    [InlineData("-1")]
    public void Start_RenewAfterFractionOutOfRange_StopsWithOneLineNamingTheKey(string value)
    {
        var factory = Factory(new Dictionary<string, string?> { ["Renewal:RenewAfterFraction"] = value });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        var refusal = ExceptionChain.Of(error).OfType<StartupConfigurationException>().First();
        Assert.StartsWith("Renewal:RenewAfterFraction", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("0.1", refusal.Message);
        Assert.DoesNotContain('\n', refusal.Message);
    }

    /// <summary>renewAfter is notBefore + fraction × (notAfter − notBefore), whole seconds, written as notBefore is.</summary>
    private static void AssertRenewAfter(JsonElement json, double fraction)
    {
        var notBeforeText = json.GetProperty("notBefore").GetString()!;
        var renewAfterText = json.GetProperty("renewAfter").GetString()!;
        var notBefore = DateTimeOffset.Parse(notBeforeText, System.Globalization.CultureInfo.InvariantCulture);
        var notAfter = json.GetProperty("notAfter").GetDateTimeOffset();
        var renewAfter = DateTimeOffset.Parse(renewAfterText, System.Globalization.CultureInfo.InvariantCulture);
        var exact = notBefore + TimeSpan.FromTicks((long)((notAfter - notBefore).Ticks * fraction));
        Assert.Equal(new DateTimeOffset(exact.UtcTicks / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond, TimeSpan.Zero), renewAfter);
        Assert.InRange(renewAfter, notBefore, notAfter);
        Assert.Equal(TimeSpan.Zero, renewAfter.Offset);
        // Same form as notBefore (same offset suffix and length).
        Assert.Equal(notBeforeText.Length, renewAfterText.Length);
        Assert.Equal(notBeforeText[19..], renewAfterText[19..]);
    }

    private PkiApiFactory Factory(IReadOnlyDictionary<string, string?>? settings = null, bool mtlsListener = false)
    {
        var factory = new PkiApiFactory(settings: settings, mtlsListener: mtlsListener);
        _factories.Add(factory);
        return factory;
    }

    private static async Task<X509Certificate2> EnrollAsync(PkiApiFactory factory, string commonName, string validity)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var sans = new SubjectAlternativeNameBuilder();
        sans.AddUri(new Uri(SpiffeId));
        request.CertificateExtensions.Add(sans.Build());
        var token = await factory.CreateTokenAsync(commonName, [SpiffeId]);
        var response = await factory.EnrollAsync(token, request.CreateSigningRequestPem(), validity);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        using var certificate = X509Certificate2.CreateFromPem(body.Certificate);
        return certificate.CopyWithPrivateKey(key);
    }

}
