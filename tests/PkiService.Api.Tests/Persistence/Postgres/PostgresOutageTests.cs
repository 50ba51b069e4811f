using System.Net;
using System.Net.Http.Json;
using PkiService.Api.Tests.Support;

namespace PkiService.Api.Tests.Persistence.Postgres;

/// <summary>
/// A PostgreSQL server that goes away while the service runs (on a cluster of this test's own, stopped with
/// <c>pg_ctl -m immediate</c>): readiness answers 503, requests that need the database answer 503 problem+json
/// (never 500), and once the server is back the same host becomes ready and serves again, without a restart.
/// </summary>
public sealed class PostgresOutageTests
{
    [SkippableFact]
    public async Task ServerStopped_ReadinessAndRequestsAnswer503_ThenRecoverWithoutRestart()
    {
        using var cluster = PostgresCluster.Start();
        using var factory = new PkiApiFactory(database: TestDatabase.OnCluster(cluster));
        using var admin = factory.CreateAdminClient();
        var before = await factory.CreateTokenAsync("before-outage");
        Assert.Equal(HttpStatusCode.Created, (await factory.EnrollAsync(before, Csrs.P256("before-outage"))).StatusCode);
        var pending = await factory.CreateTokenAsync("during-outage");
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/health/ready")).StatusCode);

        cluster.StopServer();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await admin.GetAsync("/health/ready")).StatusCode);
        await ProblemAssert.IsProblemAsync(await factory.EnrollAsync(pending, Csrs.P256("during-outage")), HttpStatusCode.ServiceUnavailable);
        await ProblemAssert.IsProblemAsync(await admin.GetAsync("/api/v1/certificates"), HttpStatusCode.ServiceUnavailable);
        await ProblemAssert.IsProblemAsync(
            await admin.PostAsJsonAsync("/api/v1/enrollment-tokens", new { commonName = "refused", profile = "client" }), HttpStatusCode.ServiceUnavailable);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await admin.GetAsync("/health/ready")).StatusCode);

        cluster.StartServer();

        var deadline = DateTime.UtcNow.AddSeconds(30);
        HttpStatusCode ready;
        while ((ready = (await admin.GetAsync("/health/ready")).StatusCode) != HttpStatusCode.OK && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
        Assert.Equal(HttpStatusCode.OK, ready);
        // The token refused during the outage was not consumed: it enrolls now, on the same host.
        Assert.Equal(HttpStatusCode.Created, (await factory.EnrollAsync(pending, Csrs.P256("during-outage"))).StatusCode);
        using var verification = await admin.GetAsync("/api/v1/audit/verify");
        Assert.Contains("\"valid\":true", await verification.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
