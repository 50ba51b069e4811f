using PkiService.Tests.Shared;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PkiService.Api.Features.Expiry;
using PkiService.Api.Tests.Support;
using PkiService.Api.Issuance;

namespace PkiService.Api.Tests.Features.Expiry;

public abstract class ExpiryWarningTests(TestDatabase database) : IDisposable
{
    private const string Secret = "webhook-test-secret-of-at-least-32-bytes";
    private readonly AdjustableTimeProvider _clock = new(new DateTimeOffset(2030, 1, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly WebhookReceiver _receiver = new();
    private readonly SmtpSink _smtp = new();
    private readonly List<PkiApiFactory> _factories = [];

    [SkippableFact]
    public async Task Scan_CertificateCrossesEachThreshold_OneWarningPerThresholdAndChannel()
    {
        var factory = Start();
        var serial = await EnrollAsync(factory, "P40D");

        await RunAsync(factory); // 40 days left: inside no threshold
        _clock.Advance(TimeSpan.FromDays(11)); // 29 days left
        await RunAsync(factory);
        await RunAsync(factory);
        _clock.Advance(TimeSpan.FromDays(23)); // 6 days left
        await RunAsync(factory);
        _clock.Advance(TimeSpan.FromDays(5.5)); // 12 hours left
        await RunAsync(factory);
        await RunAsync(factory);

        var thresholds = _receiver.Calls.Select(c => Json(c.Body).GetProperty("threshold").GetString()).ToList();
        Assert.Equal(["P30D", "P7D", "P1D"], thresholds);
        Assert.Equal(3, _smtp.Messages.Count);
        Assert.All(_smtp.Messages, m => Assert.Equal(["ops@example.org"], m.To));
        Assert.Contains(serial, _smtp.Messages.First().Data, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Scan_CertificateInsideEveryThresholdAtOnce_GetsOnlyTheNearestWarning()
    {
        var factory = Start();
        await EnrollAsync(factory, "PT5M");

        await RunAsync(factory);
        await RunAsync(factory);

        var call = Assert.Single(_receiver.Calls);
        Assert.Equal("P1D", Json(call.Body).GetProperty("threshold").GetString());
        using var admin = factory.CreateAdminClient();
        var passed = await admin.GetFromJsonAsync<JsonElement>("/api/v1/notifications?status=passed");
        Assert.Equal(4, passed.GetProperty("total").GetInt32()); // P30D and P7D, on both channels
    }

    [SkippableFact]
    public async Task Webhook_IsSignedWithHmacOfRawBody_AndCarriesTheContract()
    {
        var factory = Start();
        var serial = await EnrollAsync(factory, "P2D");

        await RunAsync(factory);

        var call = Assert.Single(_receiver.Calls);
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), call.Body));
        Assert.Equal(expected, call.Headers["X-Pki-Signature"]);
        var body = Json(call.Body);
        Assert.Equal("certificate.expiring", body.GetProperty("event").GetString());
        Assert.Equal(serial, body.GetProperty("serialNumber").GetString());
        Assert.Equal(call.Headers["X-Pki-Delivery-Id"], body.GetProperty("deliveryId").GetString());
        Assert.Equal("CN=expiring", body.GetProperty("subject").GetString());
        Assert.Equal("client", body.GetProperty("profile").GetString());
        Assert.Equal("ops@example.org", body.GetProperty("contactEmail").GetString());
        Assert.Equal(JsonValueKind.Array, body.GetProperty("sans").ValueKind);
        Assert.True(long.Parse(call.Headers["X-Pki-Timestamp"], System.Globalization.CultureInfo.InvariantCulture) > 0);
    }

    [SkippableFact]
    public async Task Delivery_ReceiverFailsTwiceThenSucceeds_ThreeAttemptsOneSuccess()
    {
        var factory = Start();
        await EnrollAsync(factory, "P2D");
        _receiver.Script(500, 500, 200);

        await RunAsync(factory); // attempt 1: 500
        _clock.Advance(TimeSpan.FromSeconds(31));
        await RunAsync(factory); // attempt 2 after 30 s: 500
        await RunAsync(factory); // backoff (60 s) not over: nothing
        _clock.Advance(TimeSpan.FromSeconds(61));
        await RunAsync(factory); // attempt 3: 200
        _clock.Advance(TimeSpan.FromHours(1));
        await RunAsync(factory);

        Assert.Equal([500, 500, 200], _receiver.Calls.Select(c => c.AnsweredWith));
        Assert.Single(_receiver.Calls.Select(c => c.Headers["X-Pki-Delivery-Id"]).Distinct());
        using var admin = factory.CreateAdminClient();
        var sent = await admin.GetFromJsonAsync<JsonElement>("/api/v1/notifications?status=sent");
        var webhook = sent.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("channel").GetString() == "webhook");
        Assert.Equal(3, webhook.GetProperty("attempts").GetInt32());
    }

    [SkippableFact]
    public async Task Delivery_ReceiverAlwaysFails_StopsAfterMaxAttemptsAndStaysVisibleAsFailed()
    {
        var factory = Start(("Expiry:MaxAttempts", "2"), ("Notifications:Smtp:Host", null));
        await EnrollAsync(factory, "P2D");
        _receiver.Script(503, 503, 503, 503);

        for (var i = 0; i < 4; i++)
        {
            await RunAsync(factory);
            _clock.Advance(TimeSpan.FromMinutes(10));
        }

        Assert.Equal(2, _receiver.Calls.Count);
        using var admin = factory.CreateAdminClient();
        var failed = await admin.GetFromJsonAsync<JsonElement>("/api/v1/notifications?status=failed");
        var item = Assert.Single(failed.GetProperty("items").EnumerateArray());
        Assert.Contains("503", item.GetProperty("lastError").GetString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Restart_BetweenScans_SendsNothingTwice()
    {
        var first = Start();
        await EnrollAsync(first, "P2D");
        await RunAsync(first);
        var directory = first.DataDirectory;
        first.Dispose();
        _factories.Remove(first);

        var second = Start(directory);
        await RunAsync(second);
        _clock.Advance(TimeSpan.FromMinutes(30));
        await RunAsync(second);

        Assert.Single(_receiver.Calls);
        Assert.Single(_smtp.Messages);
    }

    [SkippableFact]
    public async Task TwoScannersRacing_DeliverEachWarningOnce()
    {
        var factory = Start();
        for (var i = 0; i < 5; i++)
        {
            await EnrollAsync(factory, "P2D", $"raced-{i}");
        }
        var scopes = factory.Services.GetRequiredService<IServiceScopeFactory>();

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => ExpiryWarningJob.RunOnceAsync(scopes, CancellationToken.None))));
        await RunAsync(factory);

        Assert.Equal(5, _receiver.Calls.Count);
        Assert.Equal(5, _receiver.Calls.Select(c => Json(c.Body).GetProperty("serialNumber").GetString()).Distinct().Count());
        Assert.Equal(5, _smtp.Messages.Count);
    }

    [SkippableFact]
    public async Task RevokedCertificate_GetsNoWarning()
    {
        var factory = Start();
        var serial = await EnrollAsync(factory, "P2D");
        using var admin = factory.CreateAdminClient();
        (await admin.PostAsJsonAsync($"/api/v1/certificates/{serial}/revoke", new { reason = "superseded" })).EnsureSuccessStatusCode();

        await RunAsync(factory);

        Assert.Empty(_receiver.Calls);
    }

    [SkippableFact]
    public async Task Webhook_ReceiverAnswers307ToAnotherPath_IsNotFollowedAndRecordedAsFailed()
    {
        var factory = Start(("Expiry:MaxAttempts", "1"), ("Notifications:Smtp:Host", null));
        await EnrollAsync(factory, "P2D");
        var elsewhere = new Uri(new Uri(_receiver.Url), "elsewhere").AbsolutePath;
        _receiver.ScriptRedirect(307, elsewhere);

        await RunAsync(factory);

        // Following the redirect would have re-posted the signed body to the other path (the receiver answers there too).
        var call = Assert.Single(_receiver.Calls);
        Assert.Equal(new Uri(_receiver.Url).AbsolutePath, call.PathAndQuery);
        Assert.DoesNotContain(_receiver.Calls, c => c.PathAndQuery == elsewhere);
        using var admin = factory.CreateAdminClient();
        var failed = await admin.GetFromJsonAsync<JsonElement>("/api/v1/notifications?status=failed");
        var item = Assert.Single(failed.GetProperty("items").EnumerateArray());
        Assert.Equal("webhook", item.GetProperty("channel").GetString());
        Assert.Contains("307", item.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        var sent = await admin.GetFromJsonAsync<JsonElement>("/api/v1/notifications?status=sent");
        Assert.Equal(0, sent.GetProperty("total").GetInt32());
    }

    [SkippableTheory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("short-secret")]
    [InlineData("0123456789abcdef0123456789abcde")] // 31 bytes
    public void Start_WebhookUrlWithoutSecretOfAtLeast32Bytes_IsRefusedNamingTheSecret(string? secret)
    {
        using var factory = new PkiApiFactory(settings: new Dictionary<string, string?>
        {
            ["Notifications:Webhook:Url"] = _receiver.Url,
            ["Notifications:Webhook:Secret"] = secret,
        }, database: database);

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        var messages = string.Join(" | ", ExceptionChain.Of(error).Select(e => e.Message));
        Assert.Contains("Notifications:Webhook:Secret", messages, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(factory.DataDirectory, "pki.db")), "the refused start created the database");
    }

    [SkippableFact]
    public async Task Start_WebhookSecretOf32Bytes_IsAccepted()
    {
        var factory = Start(("Notifications:Webhook:Secret", "0123456789abcdef0123456789abcdef"));
        using var client = factory.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
    }

    [SkippableFact]
    public async Task Notifications_WithBadStatusOrNoKey_AreRefused()
    {
        var factory = Start();
        using var admin = factory.CreateAdminClient();
        using var anonymous = factory.CreateClient();

        await ProblemAssert.IsProblemAsync(await admin.GetAsync("/api/v1/notifications?status=lost"), HttpStatusCode.BadRequest);
        await ProblemAssert.IsProblemAsync(await anonymous.GetAsync("/api/v1/notifications"), HttpStatusCode.Unauthorized);
    }

    private PkiApiFactory Start(params (string Key, string? Value)[] overrides) => Start(null, overrides);

    private PkiApiFactory Start(string? directory, params (string Key, string? Value)[] overrides)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Notifications:Webhook:Url"] = _receiver.Url,
            ["Notifications:Webhook:Secret"] = Secret,
            ["Notifications:Smtp:Host"] = "127.0.0.1",
            ["Notifications:Smtp:Port"] = _smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Notifications:Smtp:UseTls"] = "false",
            ["Notifications:Smtp:From"] = "pki@example.org",
            // The background job runs once at start; tests drive scans themselves.
            ["Expiry:ScanInterval"] = "P1D",
        };
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }
        var factory = new PkiApiFactory(directory, _clock, settings, database: database);
        factory.CreateClient().Dispose();
        _factories.Add(factory);
        return factory;
    }

    private static async Task<string> EnrollAsync(PkiApiFactory factory, string validity, string commonName = "expiring")
    {
        var token = await factory.CreateTokenAsync(commonName);
        var response = await factory.EnrollAsync(token, Csrs.P256(commonName), validity);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!.SerialNumber;
    }

    private static Task RunAsync(PkiApiFactory factory) =>
        ExpiryWarningJob.RunOnceAsync(factory.Services.GetRequiredService<IServiceScopeFactory>(), CancellationToken.None);

    private static JsonElement Json(byte[] body) => JsonDocument.Parse(body).RootElement;


    public void Dispose()
    {
        foreach (var factory in _factories)
        {
            factory.Dispose();
        }
        _receiver.Dispose();
        _smtp.Dispose();
    }
}

/// <summary><see cref="ExpiryWarningTests"/> on the embedded SQLite file.</summary>
public sealed class ExpiryWarningTestsOnSqlite() : ExpiryWarningTests(TestDatabase.Sqlite);

/// <summary><see cref="ExpiryWarningTests"/> on a real PostgreSQL database.</summary>
public sealed class ExpiryWarningTestsOnPostgres() : ExpiryWarningTests(TestDatabase.Postgres);
