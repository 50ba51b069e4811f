using System.Text.Json;
using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.ApiSide;

/// <summary>
/// The sample API, protected by the PkiService.AspNetCore package, against curl with real certificates: the one a valid
/// client gets answers with its claims; no certificate, a foreign CA's, an expired and a revoked one are refused; the
/// <c>admins</c> policy lets in only SPIFFE IDs under its prefix.
/// </summary>
[Collection(SampleApiCollection.Name)]
public sealed class SampleApiTests(SampleApiFixture fixture) : IDisposable
{
    private readonly TempDirectory _work = new("pki-sample-");

    public void Dispose() => _work.Dispose();

    private async Task<SampleApiClients> ClientsAsync()
    {
        var clients = new SampleApiClients(fixture.Service, new Openssl(RequiredTool.Openssl(), _work.Path), RequiredTool.Curl());
        await ServiceCertificates.WriteCaFilesAsync(fixture.Service.Api, _work.Path);
        return clients;
    }

    private Uri Url(string path) => new(fixture.Sample.HttpsAddress, path);

    [SkippableFact]
    public async Task WhoAmI_ValidClient_Returns200WithItsClaims()
    {
        var clients = await ClientsAsync();
        var issued = await clients.EnrollAsync("alice", "alice", "spiffe://example.org/team-a/alice");

        var answer = await clients.GetAsync(Url("whoami"), "alice");

        Assert.True(answer.Status == 200, answer.ToString());
        var claims = JsonDocument.Parse(answer.Body).RootElement;
        var values = claims.EnumerateObject().SelectMany(p => p.Value.EnumerateArray().Select(v => (p.Name, Value: v.GetString()!))).ToList();
        Assert.Contains(values, c => c.Value == "alice");
        Assert.Contains(values, c => c.Name == "spiffe_id" && c.Value == "spiffe://example.org/team-a/alice");
        Assert.Contains(values, c => string.Equals(c.Value.Replace(":", string.Empty, StringComparison.Ordinal), issued.SerialNumber, StringComparison.OrdinalIgnoreCase));
        Assert.Contains(values, c => c.Value == "client");
    }

    [SkippableFact]
    public async Task WhoAmI_NoCertificate_IsRefused()
    {
        var clients = await ClientsAsync();

        var answer = await clients.GetAsync(Url("whoami"), client: null);

        Assert.True(answer.IsRefused, answer.ToString());
    }

    [SkippableFact]
    public async Task WhoAmI_OnThePlainHttpListener_Returns401AndHealthAnswers()
    {
        // The sample's optional http URL is for health probes: without a client certificate nothing else is served.
        var clients = await ClientsAsync();

        var whoami = await clients.GetAsync(new Uri(fixture.Sample.HttpAddress, "whoami"), client: null);
        var health = await clients.GetAsync(new Uri(fixture.Sample.HttpAddress, "health"), client: null);

        Assert.True(whoami.Status == 401, whoami.ToString());
        Assert.True(health.Status == 200, health.ToString());
        Assert.Contains("pki-revocation: Healthy", health.Body, StringComparison.Ordinal);
        Assert.Contains("pki-server-certificate: Healthy", health.Body, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task WhoAmI_ForeignCaSameSubject_IsRefused()
    {
        var clients = await ClientsAsync();
        await clients.EnrollAsync("bob", "bob", "spiffe://example.org/team-a/bob");
        await clients.IssueFromForeignCaAsync("bob-forged", "bob", "spiffe://example.org/team-a/bob");
        Assert.Equal(200, (await clients.GetAsync(Url("whoami"), "bob")).Status); // the real one works

        var answer = await clients.GetAsync(Url("whoami"), "bob-forged");

        Assert.True(answer.IsRefused, answer.ToString());
    }

    [SkippableFact]
    public async Task WhoAmI_ExpiredCertificate_IsRefused()
    {
        var clients = await ClientsAsync();
        // PkiService issues for as little as one second: notAfter = issuance + 1 s (notBefore is backdated a minute).
        var issued = await clients.EnrollAsync("carol", "carol", "spiffe://example.org/team-a/carol", validity: "PT1S");
        var wait = issued.NotAfter - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1.5);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }
        Assert.True(DateTimeOffset.UtcNow > issued.NotAfter);

        var answer = await clients.GetAsync(Url("whoami"), "carol");

        Assert.True(answer.IsRefused, answer.ToString());
    }

    [SkippableFact]
    public async Task WhoAmI_RevokedCertificate_IsRefused()
    {
        var clients = await ClientsAsync();
        var issued = await clients.EnrollAsync("dave", "dave", "spiffe://example.org/team-a/dave");
        await fixture.Service.Api.RevokeAsync(issued.SerialNumber, "keyCompromise");
        await Task.Delay(TimeSpan.FromSeconds(1)); // the push contract: within 1 s

        var answer = await clients.GetAsync(Url("whoami"), "dave");

        Assert.True(answer.IsRefused, answer.ToString());
    }

    [SkippableFact]
    public async Task Admin_SpiffeIdOutsideAdminsPrefix_Returns403()
    {
        var clients = await ClientsAsync();
        await clients.EnrollAsync("erin", "erin", "spiffe://example.org/team-a/erin");

        Assert.Equal(200, (await clients.GetAsync(Url("whoami"), "erin")).Status);
        var answer = await clients.GetAsync(Url("admin"), "erin");

        Assert.True(answer.Status == 403, answer.ToString());
    }

    [SkippableFact]
    public async Task Admin_SpiffeIdInsideAdminsPrefix_Returns200()
    {
        var clients = await ClientsAsync();
        await clients.EnrollAsync("frank", "frank", SampleApiProcess.AdminsPrefix + "frank");

        var answer = await clients.GetAsync(Url("admin"), "frank");

        Assert.True(answer.Status == 200, answer.ToString());
        Assert.Contains(SampleApiProcess.AdminsPrefix + "frank", answer.Body, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Admin_PrefixWithoutItsBoundary_Returns403()
    {
        // "spiffe://example.org/admin/" must not let in "spiffe://example.org/administrator".
        var clients = await ClientsAsync();
        await clients.EnrollAsync("grace", "grace", "spiffe://example.org/administrator");

        var answer = await clients.GetAsync(Url("admin"), "grace");

        Assert.True(answer.Status == 403, answer.ToString());
    }
}
