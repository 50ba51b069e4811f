using System.Net;
using System.Net.Http.Json;
using PkiService.Api.Tests.Support;

namespace PkiService.Api.Tests.Features.Authorization;

public sealed class RateLimitTests
{
    [Fact]
    public async Task Enrollment_OverThePerIpLimit_Gets429WithRetryAfter()
    {
        using var factory = new PkiApiFactory(settings: new Dictionary<string, string?> { ["RateLimits:EnrollmentPerMinute"] = "3" });
        var token = await factory.CreateTokenAsync("limited");

        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 4; i++)
        {
            answers.Add(await factory.EnrollAsync(token, Csrs.P256("not-allowed")));
        }

        Assert.All(answers.Take(3), a => Assert.Equal(HttpStatusCode.BadRequest, a.StatusCode));
        await ProblemAssert.IsProblemAsync(answers[3], HttpStatusCode.TooManyRequests);
        Assert.True(answers[3].Headers.RetryAfter?.Delta > TimeSpan.Zero);
    }

    [Fact]
    public async Task FailedAuthentication_RepeatedBadKey_Gets429WhileAValidKeyFromThatAddressStillWorks()
    {
        using var factory = new PkiApiFactory();
        using var guesser = factory.CreateClient();
        guesser.DefaultRequestHeaders.Authorization = new("Bearer", "pki_ak_guess");
        for (var i = 0; i < 30; i++) // RateLimits:AuthenticationFailuresPerMinute
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await guesser.GetAsync("/api/v1/certificates")).StatusCode);
        }
        using var admin = factory.CreateAdminClient();

        var valid = await admin.GetAsync("/api/v1/certificates");
        var bad = await guesser.GetAsync("/api/v1/certificates");

        Assert.Equal(HttpStatusCode.OK, valid.StatusCode);
        await ProblemAssert.IsProblemAsync(bad, HttpStatusCode.TooManyRequests);
        Assert.InRange(bad.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        var token = await factory.CreateTokenAsync("same-address");
        Assert.Equal(HttpStatusCode.Created, (await factory.EnrollAsync(token, Csrs.P256("same-address"))).StatusCode);
    }

    [Fact]
    public async Task FailedAuthentication_RotatingBadKeys_HitThePerAddressCapThatBlocksEveryKey()
    {
        using var factory = new PkiApiFactory(settings: new Dictionary<string, string?>
        {
            ["RateLimits:AuthenticationFailuresPerMinute"] = "3",
            ["RateLimits:AuthenticationFailuresPerAddressPerMinute"] = "10",
        });
        using var guesser = factory.CreateClient();
        for (var i = 0; i < 10; i++)
        {
            guesser.DefaultRequestHeaders.Authorization = new("Bearer", $"pki_ak_guess-{i}");
            Assert.Equal(HttpStatusCode.Unauthorized, (await guesser.GetAsync("/api/v1/certificates")).StatusCode);
        }
        guesser.DefaultRequestHeaders.Authorization = new("Bearer", "pki_ak_guess-new");
        using var admin = factory.CreateAdminClient();

        await ProblemAssert.IsProblemAsync(await guesser.GetAsync("/api/v1/certificates"), HttpStatusCode.TooManyRequests);
        var response = await admin.GetAsync("/api/v1/certificates");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.TooManyRequests);
        Assert.NotNull(response.Headers.RetryAfter);
        using var anonymous = factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/pki/ca.crt")).StatusCode); // public endpoints unaffected
    }

    [Fact]
    public async Task ApiAnswers_CarrySecurityHeadersAndAreNotCached()
    {
        using var factory = new PkiApiFactory();
        using var admin = factory.CreateAdminClient();

        var response = await admin.PostAsJsonAsync("/api/v1/enrollment-tokens", new { commonName = "h" });

        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.True(response.Headers.CacheControl?.NoStore);
        Assert.Contains("default-src 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }
}
