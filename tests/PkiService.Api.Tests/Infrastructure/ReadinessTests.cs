using System.Net;
using PkiService.Api.Tests.Support;

namespace PkiService.Api.Tests.Infrastructure;

/// <summary>
/// /health/ready also answers 503 when what relying parties fetch has gone stale. The clock is fake and the refresh
/// jobs run on real timers (set far apart here), so nothing re-issues the CRL or the responder certificate by itself.
/// </summary>
public sealed class ReadinessTests
{
    private readonly AdjustableTimeProvider _clock = new(DateTimeOffset.UtcNow);

    [Fact]
    public async Task Ready_PastCrlNextUpdate_Returns503WithReason()
    {
        using var factory = Start();
        using var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);

        _clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1)); // Crl:Validity P1D
        var response = await client.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("Unhealthy\ncrl: the issuing-ca CRL", body);
        Assert.Contains("past its nextUpdate", body);
        Assert.DoesNotContain("ocsp-responder:", body);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task Ready_OcspResponderCertificateExpired_Returns503WithReason()
    {
        using var factory = Start(("Ocsp:ResponderValidity", "PT2H"));
        using var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);

        _clock.Advance(TimeSpan.FromHours(3));
        var response = await client.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("Unhealthy\nocsp-responder: the issuing-ca OCSP responder certificate is not valid now", body);
        Assert.DoesNotContain("crl:", body);
    }

    [Fact]
    public async Task Ready_BeforeCrlNextUpdate_Returns200()
    {
        using var factory = Start();
        using var client = factory.CreateClient();

        _clock.Advance(TimeSpan.FromHours(23));
        var response = await client.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    private PkiApiFactory Start(params (string Key, string Value)[] settings)
    {
        var all = new Dictionary<string, string?>
        {
            ["Crl:CheckInterval"] = "P1D",
            ["Ocsp:RenewalCheckInterval"] = "P1D",
        };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }
        return new PkiApiFactory(timeProvider: _clock, settings: all);
    }
}
