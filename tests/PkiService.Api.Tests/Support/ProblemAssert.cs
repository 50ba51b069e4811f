using System.Net;
using System.Text.Json;

namespace PkiService.Api.Tests.Support;

public static class ProblemAssert
{
    /// <summary>Asserts an RFC 9457 problem+json answer with the status and a non-empty title; returns the parsed body.</summary>
    public static async Task<JsonElement> IsProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal((int)status, json.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(json.GetProperty("title").GetString()));
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal); // no stack trace
        return json;
    }
}
