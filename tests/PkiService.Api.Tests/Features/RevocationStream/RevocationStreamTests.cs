using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PkiService.Api.Features.Crl;
using PkiService.Api.Features.RevocationStream;
using PkiService.Api.Infrastructure;
using PkiService.Api.Tests.Support;
using PkiService.Core.Authorities;
using Xunit.Abstractions;

namespace PkiService.Api.Tests.Features.RevocationStream;

/// <summary>
/// <c>GET /pki/revocations/stream</c> over real Kestrel sockets, read line by line as an event-stream client reads it:
/// the wire format of issue 12 (WIRE12), resume by CRL number, the bounds, and the end of streams at host stop.
/// </summary>
[Collection(RevocationStreamLoadCollection.Name)]
public sealed class RevocationStreamTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Revoke_WhileConnected_EventArrivesWithinOneSecondWithIssuerSerialReasonAndCrlNumber()
    {
        using var factory = new PkiApiFactory();
        using var admin = factory.CreateAdminClient();
        using var client = factory.CreateClient();
        const int revocations = 20;
        string[] reasons = ["keyCompromise", "unspecified", "superseded", "cessationOfOperation", "affiliationChanged"];
        var serials = new List<string>();
        for (var i = 0; i < revocations; i++)
        {
            serials.Add(await EnrollAsync(factory, $"stream-{i}"));
        }

        await using var stream = await EventStreamReader.OpenAsync(client);
        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        Assert.Equal("text/event-stream", stream.Response.Content.Headers.ContentType?.MediaType);
        Assert.True(stream.Response.Headers.CacheControl?.NoStore, "Cache-Control: no-store");
        var ready = Assert.Single(await stream.ReadThroughReadyAsync()); // no Last-Event-ID: no replay
        Assert.Equal(2000, stream.Retry);
        Assert.Equal(CrlNumber(factory).ToString(System.Globalization.CultureInfo.InvariantCulture), ready.Id);
        Assert.Equal(long.Parse(ready.Id!, System.Globalization.CultureInfo.InvariantCulture), ready.Json.GetProperty("crlNumber").GetInt64());

        var latencies = new List<double>();
        var issuer = factory.Services.GetRequiredService<CaHierarchy>().Issuing.Fingerprint;
        for (var i = 0; i < revocations; i++)
        {
            var reason = reasons[i % reasons.Length];
            var crlBefore = CrlNumber(factory);
            var before = DateTimeOffset.UtcNow;
            var clock = Stopwatch.StartNew();
            var revoke = admin.PostAsync($"/api/v1/certificates/{serials[i]}/revoke", JsonContent.Create(new { reason }));
            var received = await stream.NextAsync(TimeSpan.FromSeconds(5));
            latencies.Add(clock.Elapsed.TotalMilliseconds);
            Assert.Equal(HttpStatusCode.OK, (await revoke).StatusCode);
            var crlAfter = CrlNumber(factory);

            Assert.NotNull(received);
            Assert.Equal("revoked", received.Type);
            var data = received.Json;
            Assert.Equal(issuer, data.GetProperty("issuer").GetString());
            Assert.Matches("^[0-9A-F]{64}$", data.GetProperty("issuer").GetString());
            Assert.Equal(serials[i], data.GetProperty("serialNumber").GetString());
            Assert.Equal(reason, data.GetProperty("reason").GetString());
            var revokedAtText = data.GetProperty("revokedAt").GetString()!;
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", revokedAtText);
            var revokedAt = DateTimeOffset.Parse(revokedAtText, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(revokedAt, before.AddSeconds(-1), DateTimeOffset.UtcNow);
            // The newest complete CRL this node had when it sent: the one before the revocation's own CRL, or that one.
            var id = long.Parse(received.Id!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(id, crlBefore, crlAfter);
        }

        var sorted = latencies.Order().ToList();
        output.WriteLine($"revoke sent -> event received over {revocations} revocations: p50 {sorted[(sorted.Count - 1) / 2]:0.0} ms, max {sorted[^1]:0.0} ms");
        Assert.True(sorted[^1] < 1000, $"slowest event took {sorted[^1]:0} ms");
    }

    [Fact]
    public async Task Resume_FromOlderCrlNumber_ReplaysOnlyRevocationsThatCrlMayNotList()
    {
        var clock = new AdjustableTimeProvider(DateTimeOffset.UtcNow);
        using var factory = new PkiApiFactory(timeProvider: clock);
        using var admin = factory.CreateAdminClient();
        using var client = factory.CreateClient();
        var early = await EnrollAsync(factory, "revoked-long-before");
        var listed = await EnrollAsync(factory, "revoked-by-crl-n");
        var after = new[] { await EnrollAsync(factory, "after-1"), await EnrollAsync(factory, "after-2") };

        await RevokeAsync(admin, early);
        clock.Advance(TimeSpan.FromMinutes(10));
        await RevokeAsync(admin, listed); // builds CRL N (thisUpdate now), which lists both
        var n = CrlNumber(factory);
        clock.Advance(TimeSpan.FromMinutes(10));
        foreach (var serial in after)
        {
            await RevokeAsync(admin, serial);
        }

        await using var stream = await EventStreamReader.OpenAsync(client, lastEventId: n.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var events = await stream.ReadThroughReadyAsync();
        var replayed = events.Where(e => e.Type == "revoked").Select(e => e.SerialNumber).ToHashSet();

        Assert.Equal("ready", events[^1].Type);
        Assert.Superset(after.ToHashSet(), replayed);
        Assert.DoesNotContain(early, replayed); // revoked 10 minutes before CRL N's thisUpdate: N lists it
        Assert.True(replayed.IsSubsetOf(after.Append(listed)), string.Join(", ", replayed));
        Assert.All(events, e => Assert.Equal(CrlNumber(factory).ToString(System.Globalization.CultureInfo.InvariantCulture), e.Id));
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("0")] // older than any CRL this node has served
    [InlineData("999999999999")] // newer than any CRL this node has served
    [InlineData("-5")]
    [InlineData("1e3")]
    [InlineData("0x10")]
    [InlineData("%EF%BC%91%EF%BC%92")] // full-width digits (by query: HTTP headers are ASCII)
    [InlineData("%00%0A1")]
    [InlineData("12345678901234567890123456789012345678901234567890123")] // longer than any CRL number
    public async Task Resume_UnknownOrMalformedId_ReplaysEveryUnexpiredRevocation(string lastEventId)
    {
        var clock = new AdjustableTimeProvider(DateTimeOffset.UtcNow);
        using var factory = new PkiApiFactory(timeProvider: clock);
        using var admin = factory.CreateAdminClient();
        using var client = factory.CreateClient();
        var shortLived = await EnrollAsync(factory, "short-lived", validity: "PT1H");
        var longLived = await EnrollAsync(factory, "long-lived");
        var good = await EnrollAsync(factory, "never-revoked");
        await RevokeAsync(admin, shortLived);
        await RevokeAsync(admin, longLived);
        clock.Advance(TimeSpan.FromHours(2)); // the short-lived certificate has expired: no CRL lists it any more

        await using var stream = lastEventId.Contains('%', StringComparison.Ordinal)
            ? await EventStreamReader.OpenAsync(client, path: $"/pki/revocations/stream?lastEventId={lastEventId}")
            : await EventStreamReader.OpenAsync(client, lastEventId);
        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        var replayed = (await stream.ReadThroughReadyAsync()).Where(e => e.Type == "revoked").Select(e => e.SerialNumber).ToList();

        Assert.Equal([longLived], replayed);
        Assert.DoesNotContain(good, replayed);
        Assert.DoesNotContain(shortLived, replayed);
    }

    [Fact]
    public async Task Resume_WithQueryParameter_ReplaysLikeTheHeader()
    {
        using var factory = new PkiApiFactory();
        using var admin = factory.CreateAdminClient();
        using var client = factory.CreateClient();
        var revoked = await EnrollAsync(factory, "query-resume");
        await RevokeAsync(admin, revoked);

        await using var stream = await EventStreamReader.OpenAsync(client, path: "/pki/revocations/stream?lastEventId=not-a-number");
        var replayed = (await stream.ReadThroughReadyAsync()).Where(e => e.Type == "revoked").Select(e => e.SerialNumber).ToList();

        Assert.Equal([revoked], replayed);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public async Task Connect_WithoutLastEventId_ReplaysNothingAndSendsOnlyNewRevocations(string? lastEventId)
    {
        using var factory = new PkiApiFactory();
        using var admin = factory.CreateAdminClient();
        using var client = factory.CreateClient();
        var before = await EnrollAsync(factory, "revoked-before-connect");
        var later = await EnrollAsync(factory, "revoked-after-connect");
        await RevokeAsync(admin, before);

        await using var stream = await EventStreamReader.OpenAsync(client, lastEventId);
        var opening = await stream.ReadThroughReadyAsync();
        await RevokeAsync(admin, later);
        var next = await stream.NextAsync();

        Assert.Equal("ready", Assert.Single(opening).Type);
        Assert.Equal(later, next?.SerialNumber);
    }

    [Fact]
    public async Task Connect_PastMaxClients_Returns503ProblemWithRetryAfter_AndAFreedSlotIsReused()
    {
        using var factory = new PkiApiFactory(settings: new Dictionary<string, string?> { ["RevocationStream:MaxClients"] = "2" });
        using var client = factory.CreateClient();
        await using var first = await EventStreamReader.OpenAsync(client);
        await first.ReadThroughReadyAsync();
        var second = await EventStreamReader.OpenAsync(client);
        await second.ReadThroughReadyAsync();

        using (var refused = await client.GetAsync("/pki/revocations/stream"))
        {
            await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable);
            var retryAfter = refused.Headers.RetryAfter?.Delta;
            Assert.NotNull(retryAfter);
            Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(15));
        }

        await second.DisposeAsync();
        await WaitForAsync(() => factory.Services.GetRequiredService<RevocationStreamClients>().Connected == 1, "the closed stream's slot is freed");
        await using var third = await EventStreamReader.OpenAsync(client);
        Assert.Equal(HttpStatusCode.OK, third.Response.StatusCode);
        Assert.Equal("ready", (await third.ReadThroughReadyAsync())[^1].Type);
    }

    /// <summary>Bytes no HttpClient would send (a header value with octets above 0x7F, a header far too long, a body): never a 500.</summary>
    [Fact]
    public async Task Connect_WithHostileRawRequests_NeverAnswers500()
    {
        using var factory = new PkiApiFactory();
        using var client = factory.CreateClient();
        var port = client.BaseAddress!.Port;
        byte[][] requests =
        [
            [.. "GET /pki/revocations/stream HTTP/1.1\r\nHost: x\r\nLast-Event-ID: "u8, 0xFF, 0xFE, 0x31, .. "\r\nConnection: close\r\n\r\n"u8],
            System.Text.Encoding.ASCII.GetBytes($"GET /pki/revocations/stream HTTP/1.1\r\nHost: x\r\nLast-Event-ID: {new string('9', 20000)}\r\nConnection: close\r\n\r\n"),
            "GET /pki/revocations/stream?lastEventId=1&lastEventId=2 HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1, 2\r\nConnection: close\r\n\r\n"u8.ToArray(),
            "POST /pki/revocations/stream HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"u8.ToArray(),
        ];
        foreach (var request in requests)
        {
            using var socket = new System.Net.Sockets.TcpClient();
            await socket.ConnectAsync(IPAddress.Loopback, port);
            var network = socket.GetStream();
            await network.WriteAsync(request);
            using var reader = new StreamReader(network, System.Text.Encoding.Latin1);
            var statusLine = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
            output.WriteLine($"{System.Text.Encoding.Latin1.GetString(request)[..40]}... -> {statusLine}");
            Assert.NotNull(statusLine);
            Assert.Matches(@"^HTTP/1\.1 (200|400|405|431) ", statusLine);
        }
    }

    [Fact]
    public async Task Stream_SilentForLongerThanRequestTimeout_GetsKeepAlivesAndStaysOpen()
    {
        using var factory = new PkiApiFactory(settings: new Dictionary<string, string?>
        {
            ["RevocationStream:KeepAlive"] = "PT0.3S",
            ["RateLimits:RequestTimeoutSeconds"] = "1",
        });
        using var admin = factory.CreateAdminClient();
        using var client = factory.CreateClient();
        var serial = await EnrollAsync(factory, "after-silence");
        await using var stream = await EventStreamReader.OpenAsync(client);
        await stream.ReadThroughReadyAsync();

        await Task.Delay(TimeSpan.FromSeconds(2.5)); // past the 1 s request timeout
        await RevokeAsync(admin, serial);
        var next = await stream.NextAsync();

        Assert.Equal(serial, next?.SerialNumber);
        Assert.True(stream.Comments.Count(c => c == " keep-alive") >= 3, $"{stream.Comments.Count} comments");
    }

    [Fact]
    public async Task HostStop_EndsOpenStreamsWithoutErrors()
    {
        var logs = new CapturedLogs();
        using var host = new PkiApiFactory();
        using var client = host.CreateClient();
        host.Services.GetRequiredService<ILoggerFactory>().AddProvider(logs); // every logger of the running host writes here too
        var streams = new List<EventStreamReader>();
        for (var i = 0; i < 3; i++)
        {
            var stream = await EventStreamReader.OpenAsync(client);
            await stream.ReadThroughReadyAsync();
            streams.Add(stream);
        }

        var slots = host.Services.GetRequiredService<RevocationStreamClients>();
        Assert.Equal(3, slots.Connected);
        var stopping = Stopwatch.StartNew();
        host.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication(); // the provider is disposed once the host has stopped
        foreach (var stream in streams)
        {
            ServerSentEvent? next;
            do
            {
                next = await stream.NextAsync(TimeSpan.FromSeconds(10));
            }
            while (next is not null);
            await stream.DisposeAsync();
        }
        output.WriteLine($"3 open streams ended {stopping.ElapsedMilliseconds} ms after the host was told to stop");

        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(5), $"{stopping.Elapsed}");
        Assert.Empty(logs.AtOrAbove(LogLevel.Error));
        await WaitForAsync(() => slots.Connected == 0, "every slot is freed");
    }

    [Theory]
    [InlineData("RevocationStream:MaxClients", "0")]
    [InlineData("RevocationStream:KeepAlive", "15 seconds")]
    [InlineData("RevocationStream:KeepAlive", "PT1H")]
    public void Start_WithUnusableSetting_StopsWithOneLineNamingIt(string key, string value)
    {
        using var factory = new PkiApiFactory(settings: new Dictionary<string, string?> { [key] = value });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        var refusal = ExceptionChain.Of(error).OfType<StartupConfigurationException>().Single();
        Assert.StartsWith(key, refusal.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refusal.Message);
    }


    private static long CrlNumber(PkiApiFactory factory) =>
        (long)factory.Services.GetRequiredService<CrlPublisher>().Published!.Issuing.Crl.CrlNumber;

    internal static async Task<string> EnrollAsync(PkiApiFactory factory, string commonName, string? validity = null)
    {
        var token = await factory.CreateTokenAsync(commonName);
        using var response = await factory.EnrollAsync(token, Csrs.P256(commonName), validity);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!.SerialNumber;
    }

    internal static async Task RevokeAsync(HttpClient admin, string serial, string reason = "keyCompromise")
    {
        using var response = await admin.PostAsync($"/api/v1/certificates/{serial}/revoke", JsonContent.Create(new { reason }));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    internal static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), $"timed out waiting until {what}");
            await Task.Delay(20);
        }
    }

    private sealed class CapturedLogs : ILoggerProvider
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<(LogLevel Level, string Category, string Message)> _entries = new();

        public IEnumerable<string> AtOrAbove(LogLevel level) =>
            _entries.Where(e => e.Level >= level).Select(e => $"{e.Level} {e.Category}: {e.Message}");

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturedLogs logs, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    logs._entries.Enqueue((logLevel, category, formatter(state, exception) + (exception is null ? "" : " " + exception)));
                }
            }
        }
    }
}
