using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using PkiService.Api.Audit;
using PkiService.Api.Tests.Support;
using PkiService.Persistence;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Tests.Audit;

/// <summary>
/// Failures nobody can be held to (unknown API keys, unknown enrollment tokens, renewals without a certificate) are
/// audited as one full row per action and interval plus one summary row, not one row each.
/// </summary>
public sealed class AnonymousFailureAuditTests
{
    private static readonly string[] Actions = ["auth.fail", "certificate.issue", "certificate.renew"];

    [Fact]
    public async Task AnonymousFailures_AddOneFullRowPerAction_AndOneSummaryRowAtShutdown()
    {
        string dataDirectory;
        // An interval far longer than the test, so the only summary is the one written at shutdown (with the default
        // PT1M a slow run on a loaded machine crossed an interval and had two).
        using (var factory = new PkiApiFactory(mtlsListener: true, settings: new Dictionary<string, string?> { ["Audit:AnonymousFailureSummaryInterval"] = "PT1H" }))
        {
            dataDirectory = factory.DataDirectory;
            await SendAnonymousFailuresAsync(factory, 50);

            var rows = await FailureRowsAsync(factory);
            Assert.All(Actions, action => Assert.Single(rows, r => r.Action == action));
            Assert.Equal("127.0.0.1", rows.Single(r => r.Action == "auth.fail").ClientIp);
        }

        using var restarted = new PkiApiFactory(dataDirectory);
        var after = await FailureRowsAsync(restarted);
        foreach (var action in Actions)
        {
            var ofAction = after.Where(r => r.Action == action).ToList();
            Assert.True(ofAction.Count == 2, $"{action}: " + string.Join(" | ", after.Select(r => $"{r.Action} {r.Actor} {r.Details}")));
            Assert.Equal("anonymous", ofAction[1].Actor);
            Assert.StartsWith("summary: 49 more anonymous failures from 1 client IPs", ofAction[1].Details, StringComparison.Ordinal);
            Assert.Contains("client IPs include 127.0.0.1", ofAction[1].Details, StringComparison.Ordinal);
        }
        using var admin = restarted.CreateAdminClient();
        var verification = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/verify");
        Assert.True(verification.GetProperty("valid").GetBoolean(), verification.ToString());
    }

    [Fact]
    public async Task AnonymousFailures_EachIntervalEndsWithASummaryRow()
    {
        using var factory = new PkiApiFactory(settings: new Dictionary<string, string?> { ["Audit:AnonymousFailureSummaryInterval"] = "PT1S" });
        using var guesser = factory.CreateClient();
        for (var i = 0; i < 5; i++)
        {
            guesser.DefaultRequestHeaders.Authorization = new("Bearer", $"pki_ak_guess-{i}");
            Assert.Equal(HttpStatusCode.Unauthorized, (await guesser.GetAsync("/api/v1/certificates")).StatusCode);
        }

        // The five failures may straddle an interval boundary: each interval has one full row, the rest are summarized
        // at the end of their interval. So wait until every failure is accounted for, not merely for the first summary
        // (a loaded run saw the first interval's summary while the second's was still to come: 4 of 5).
        var deadline = DateTime.UtcNow.AddSeconds(20);
        List<AuditEventRecord> rows;
        List<AuditEventRecord> summarized;
        int accounted;
        do
        {
            await Task.Delay(200);
            rows = await FailureRowsAsync(factory);
            summarized = rows.Where(r => r.Details!.StartsWith("summary:", StringComparison.Ordinal)).ToList();
            accounted = rows.Count - summarized.Count
                + summarized.Sum(r => int.Parse(r.Details!.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture));
        }
        while ((summarized.Count == 0 || accounted < 5) && DateTime.UtcNow < deadline);

        Assert.NotEmpty(summarized);
        Assert.Equal(5, accounted);
    }

    [Fact]
    public async Task AnonymousFailures_FromMoreAddressesThanTracked_SummaryGivesALowerBound()
    {
        using var factory = new PkiApiFactory(settings: new Dictionary<string, string?> { ["ForwardedHeaders:KnownProxies:0"] = "127.0.0.1" });
        using var guesser = factory.CreateClient();
        var addresses = AnonymousFailureAudit.MaxTrackedAddresses + 100;
        for (var i = 0; i < addresses; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/certificates");
            request.Headers.Authorization = new("Bearer", "pki_ak_guess");
            request.Headers.Add("X-Forwarded-For", $"198.51.{i / 256}.{i % 256}");
            using var response = await guesser.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        var summaries = factory.Services.GetRequiredService<AnonymousFailureAudit>().TakeSummaries();

        var summary = Assert.Single(summaries);
        Assert.Equal("auth.fail", summary.Action);
        Assert.StartsWith($"summary: {addresses - 1} more anonymous failures from at least {AnonymousFailureAudit.MaxTrackedAddresses} client IPs", summary.Details, StringComparison.Ordinal);
        Assert.Contains("client IPs include 198.51.0.1, 198.51.0.2, 198.51.0.3, 198.51.0.4, 198.51.0.5", summary.Details, StringComparison.Ordinal);
    }

    /// <summary>An unknown API key, an unknown enrollment token and a renewal without a certificate, <paramref name="times"/> each.</summary>
    private static async Task SendAnonymousFailuresAsync(PkiApiFactory factory, int times)
    {
        using var guesser = factory.CreateClient();
        using var renewer = factory.CreateMtlsClient(null);
        var csr = Csrs.P256("nobody");
        for (var i = 0; i < times; i++)
        {
            guesser.DefaultRequestHeaders.Authorization = new("Bearer", $"pki_ak_guess-{i}");
            Assert.Equal(HttpStatusCode.Unauthorized, (await guesser.GetAsync("/api/v1/certificates")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await factory.EnrollAsync($"pki_et_guess-{i}", csr)).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await renewer.PostAsJsonAsync("/api/v1/renew", new { csr })).StatusCode);
        }
    }

    private static async Task<List<AuditEventRecord>> FailureRowsAsync(PkiApiFactory factory)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<PkiDbContext>().AuditEvents.AsNoTracking()
            .Where(a => a.Outcome == "failure")
            .OrderBy(a => a.Id)
            .ToListAsync();
    }
}
