using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PkiService.Api.Tests.Support;

namespace PkiService.Api.Tests.Infrastructure;

/// <summary>X-Forwarded-For is believed only from the proxies named in ForwardedHeaders; everyone else's is ignored.</summary>
public sealed class TrustedProxiesTests
{
    [Theory]
    [InlineData("ForwardedHeaders:KnownProxies:0", "127.0.0.1")]
    [InlineData("ForwardedHeaders:KnownNetworks:0", "127.0.0.0/8")]
    public async Task KnownProxy_ClientsWithDifferentForwardedAddresses_AreThrottledAndAuditedSeparately(string key, string value)
    {
        using var factory = new PkiApiFactory(settings: new Dictionary<string, string?>
        {
            [key] = value,
            ["RateLimits:AuthenticationFailuresPerMinute"] = "2",
        });
        using var client = factory.CreateClient();

        // The proxy appends the address it saw; what the client wrote to its left is not believed.
        var first = await GuessAsync(client, "198.51.100.77, 203.0.113.10");
        var second = await GuessAsync(client, "203.0.113.10");
        var third = await GuessAsync(client, "203.0.113.10");
        var otherClient = await GuessAsync(client, "203.0.113.20");

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized], [first, second]);
        Assert.Equal(HttpStatusCode.TooManyRequests, third);
        Assert.Equal(HttpStatusCode.Unauthorized, otherClient);
        var failures = await AuthFailuresAsync(factory);
        Assert.Equal("203.0.113.10", failures.Last().GetProperty("clientIp").GetString()); // the first failure (newest first)
        Assert.DoesNotContain(failures, f => f.GetProperty("clientIp").GetString() is "127.0.0.1" or "198.51.100.77");
    }

    [Fact]
    public async Task NoKnownProxy_ForwardedForIsIgnored()
    {
        using var factory = new PkiApiFactory(settings: new Dictionary<string, string?> { ["RateLimits:AuthenticationFailuresPerMinute"] = "2" });
        using var client = factory.CreateClient();

        var first = await GuessAsync(client, "203.0.113.66");
        var second = await GuessAsync(client, "203.0.113.67");
        var third = await GuessAsync(client, "203.0.113.68");

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized], [first, second]);
        Assert.Equal(HttpStatusCode.TooManyRequests, third); // one address, whatever the header says
        var failures = await AuthFailuresAsync(factory);
        Assert.NotEmpty(failures);
        Assert.All(failures, f => Assert.Equal("127.0.0.1", f.GetProperty("clientIp").GetString()));
        using var admin = factory.CreateAdminClient();
        var everything = await admin.GetStringAsync("/api/v1/audit?pageSize=200");
        Assert.DoesNotContain("203.0.113.", everything, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ForwardedHeaders:KnownProxies:0", "proxy.example.org", "is not an IP address")]
    [InlineData("ForwardedHeaders:KnownNetworks:0", "10.0.0.0/33", "is not a network")]
    public void InvalidProxySetting_RefusesToStartNamingTheKey(string key, string value, string reason)
    {
        using var factory = new PkiApiFactory(settings: new Dictionary<string, string?> { [key] = value });

        var exception = Assert.ThrowsAny<Exception>(() => factory.Services);

        var message = exception.GetBaseException().Message;
        Assert.Contains(key, message, StringComparison.Ordinal);
        Assert.Contains(reason, message, StringComparison.Ordinal);
    }

    /// <summary>One bad API key (always the same one), sent as if from <paramref name="forwardedFor"/>.</summary>
    private static async Task<HttpStatusCode> GuessAsync(HttpClient client, string forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/certificates");
        request.Headers.Authorization = new("Bearer", "pki_ak_guess");
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    private static async Task<List<JsonElement>> AuthFailuresAsync(PkiApiFactory factory)
    {
        using var admin = factory.CreateAdminClient();
        var page = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit?action=auth.fail");
        return page.GetProperty("items").EnumerateArray().ToList();
    }
}
