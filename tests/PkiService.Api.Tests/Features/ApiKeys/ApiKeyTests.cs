using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PkiService.Api.Tests.Support;

namespace PkiService.Api.Tests.Features.ApiKeys;

public sealed class ApiKeyTests : IDisposable
{
    private readonly PkiApiFactory _factory = new();

    [Fact]
    public async Task CreatedKey_WorksForItsRole_IsListedWithoutSecret_AndStopsWorkingWhenDeleted()
    {
        using var admin = _factory.CreateAdminClient();
        var created = await (await admin.PostAsJsonAsync("/api/v1/api-keys", new { name = "ci", role = "enroller" })).Content.ReadFromJsonAsync<JsonElement>();
        var key = created.GetProperty("key").GetString()!;
        var id = created.GetProperty("id").GetString()!;
        using var enroller = _factory.CreateClient();
        enroller.DefaultRequestHeaders.Authorization = new("Bearer", key);

        Assert.Equal(HttpStatusCode.Created, (await enroller.PostAsJsonAsync("/api/v1/enrollment-tokens", new { commonName = "x" })).StatusCode);
        var listed = await admin.GetStringAsync("/api/v1/api-keys");
        Assert.Contains(id, listed, StringComparison.Ordinal);
        Assert.DoesNotContain(key, listed, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/api/v1/api-keys/{id}")).StatusCode);

        await ProblemAssert.IsProblemAsync(await enroller.PostAsJsonAsync("/api/v1/enrollment-tokens", new { commonName = "x" }), HttpStatusCode.Unauthorized);
        await ProblemAssert.IsProblemAsync(await admin.DeleteAsync($"/api/v1/api-keys/{id}"), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task DeleteLastAdminKey_Returns409()
    {
        using var admin = _factory.CreateAdminClient();

        var response = await admin.DeleteAsync("/api/v1/api-keys/bootstrap");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict);
        Assert.Contains("last active admin key", problem.GetProperty("title").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"name\":\"x\",\"role\":\"root\"}")]
    [InlineData("{\"name\":\"\",\"role\":\"admin\"}")]
    [InlineData("{\"role\":\"admin\"}")]
    public async Task Create_InvalidBody_Returns400(string json)
    {
        using var admin = _factory.CreateAdminClient();

        var response = await admin.PostAsync("/api/v1/api-keys", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task RevokedEnrollmentToken_IsRefused_AndUsedTokenCannotBeRevoked()
    {
        using var admin = _factory.CreateAdminClient();
        var unused = await (await admin.PostAsJsonAsync("/api/v1/enrollment-tokens", new { commonName = "r" })).Content.ReadFromJsonAsync<PkiApiFactory.TokenResponse>();
        var used = await (await admin.PostAsJsonAsync("/api/v1/enrollment-tokens", new { commonName = "u" })).Content.ReadFromJsonAsync<PkiApiFactory.TokenResponse>();
        Assert.Equal(HttpStatusCode.Created, (await _factory.EnrollAsync(used!.Token, Csrs.P256("u"))).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/api/v1/enrollment-tokens/{unused!.Id}")).StatusCode);

        await ProblemAssert.IsProblemAsync(await _factory.EnrollAsync(unused.Token, Csrs.P256("r")), HttpStatusCode.Unauthorized);
        await ProblemAssert.IsProblemAsync(await admin.DeleteAsync($"/api/v1/enrollment-tokens/{used.Id}"), HttpStatusCode.Conflict);
        var revoked = await admin.GetFromJsonAsync<JsonElement>("/api/v1/enrollment-tokens?status=revoked");
        Assert.Equal(unused.Id, revoked.GetProperty("items")[0].GetProperty("id").GetString());
        var usedView = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/enrollment-tokens/{used.Id}");
        Assert.Equal("used", usedView.GetProperty("status").GetString());
        Assert.DoesNotContain(used.Token, await admin.GetStringAsync("/api/v1/enrollment-tokens"), StringComparison.Ordinal);
    }

    public void Dispose() => _factory.Dispose();
}
