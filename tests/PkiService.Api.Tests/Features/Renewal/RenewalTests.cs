using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using PkiService.Api.Features.Renewal;
using PkiService.Api.Tests.Support;
using PkiService.Persistence;
using PkiService.Persistence.Entities;
using PkiService.Api.Issuance;

namespace PkiService.Api.Tests.Features.Renewal;

/// <summary>
/// Renewal over the real mTLS listener (Kestrel, TLS with client certificates) with a clock the tests move: the cases
/// that need time (an expired client certificate, the listener's own certificate renewal) and the database details.
/// The curl/openssl view of the same endpoint is in the interop tests.
/// </summary>
public abstract class RenewalTests : IDisposable
{
    private const string SpiffeId = "spiffe://example.org/renewing";

    private readonly AdjustableTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly PkiApiFactory _factory;

    private readonly TestDatabase database;

    protected RenewalTests(TestDatabase database)
    {
        this.database = database;
        _factory = new PkiApiFactory(timeProvider: _clock, mtlsListener: true, database: database);
    }

    public void Dispose() => _factory.Dispose();

    [SkippableFact]
    public async Task Renew_ActiveCertificate_Returns201AndSupersedesOldKeepingProfileTokenAndContact()
    {
        var old = await EnrollAsync("renewing", "P30D");
        using var newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var client = _factory.CreateMtlsClient(old.Certificate);

        var response = await client.PostAsJsonAsync("/api/v1/renew", new { csr = Csr(newKey, "renewing", SpiffeId), validity = "P60D" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var renewed = (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        using var certificate = X509Certificate2.CreateFromPem(renewed.Certificate);
        Assert.Equal(newKey.ExportSubjectPublicKeyInfo(), certificate.PublicKey.ExportSubjectPublicKeyInfo());
        Assert.Equal("CN=renewing", certificate.Subject);
        Assert.Equal(TimeSpan.FromDays(60), renewed.NotAfter - renewed.NotBefore - TimeSpan.FromMinutes(1));
        var (oldRecord, newRecord) = await RecordsAsync(old.Serial, renewed.SerialNumber);
        Assert.Equal(CertificateStatus.Superseded, oldRecord.Status);
        Assert.Equal(renewed.SerialNumber, oldRecord.SupersededBy);
        Assert.Equal(CertificateStatus.Active, newRecord.Status);
        Assert.Equal((oldRecord.Profile, oldRecord.EnrollmentTokenId, oldRecord.ContactEmail), (newRecord.Profile, newRecord.EnrollmentTokenId, newRecord.ContactEmail));
        Assert.Equal("ops@example.org", newRecord.ContactEmail);
        Assert.Equal(oldRecord.SubjectAltNames, newRecord.SubjectAltNames);
    }

    /// <summary>
    /// The answer to a renewal was lost and the agent sends the same renewal again (old certificate, same new key): it
    /// gets the certificate the first one made, nothing new is signed; another key, or after the replay window, or once
    /// that certificate is revoked, the superseded certificate is refused as before.
    /// </summary>
    [SkippableFact]
    public async Task Renew_SameRenewalSentAgain_AnswersTheCertificateItMadeAndSignsNothingNew()
    {
        var old = await EnrollAsync("lost-answer", "P30D");
        using var newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = Csr(newKey, "lost-answer", SpiffeId);
        using var client = _factory.CreateMtlsClient(old.Certificate);
        using var first = await client.PostAsJsonAsync("/api/v1/renew", new { csr });
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var made = (await first.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;

        using var again = await client.PostAsJsonAsync("/api/v1/renew", new { csr });

        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        var replayed = (await again.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        Assert.Equal(made.SerialNumber, replayed.SerialNumber);
        Assert.Equal(made.Certificate, replayed.Certificate);
        await using (var scope = _factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();
            Assert.Equal(2, await db.Certificates.CountAsync(c => c.CommonName == "lost-answer"));
        }

        using var otherKey = await client.PostAsJsonAsync("/api/v1/renew", new { csr = Csrs.P256("lost-answer", SpiffeId) });
        await ProblemAssert.IsProblemAsync(otherKey, HttpStatusCode.Unauthorized);

        _clock.Advance(TimeSpan.FromMinutes(11));
        using var late = await client.PostAsJsonAsync("/api/v1/renew", new { csr });
        await ProblemAssert.IsProblemAsync(late, HttpStatusCode.Unauthorized);
    }

    [SkippableFact]
    public async Task Renew_ExpiredCertificate_Returns401()
    {
        var old = await EnrollAsync("expiring", "P1D");
        _clock.Advance(TimeSpan.FromDays(2));
        using var client = _factory.CreateMtlsClient(old.Certificate);

        var response = await client.PostAsJsonAsync("/api/v1/renew", new { csr = Csrs.P256("expiring", SpiffeId) });

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains("not valid now", problem.GetProperty("title").GetString());
        Assert.Equal(CertificateStatus.Active, (await RecordsAsync(old.Serial, old.Serial)).Old.Status);
    }

    [SkippableFact]
    public async Task Renew_ConcurrentRenewalsOfOneCertificate_ExactlyOneSucceeds()
    {
        var old = await EnrollAsync("raced", "P30D");

        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(async _ =>
        {
            using var client = _factory.CreateMtlsClient(old.Certificate);
            return await client.PostAsJsonAsync("/api/v1/renew", new { csr = Csrs.P256("raced", SpiffeId) });
        }));

        Assert.Equal(1, answers.Count(a => a.StatusCode == HttpStatusCode.Created));
        Assert.Equal(5, answers.Count(a => a.StatusCode == HttpStatusCode.Unauthorized));
        await using var scope = _factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();
        Assert.Equal(1, await db.Certificates.CountAsync(c => c.CommonName == "raced" && c.Status == CertificateStatus.Active));
    }

    /// <summary>
    /// Renewals and token enrollments share the group commit: sent together they commit in shared transactions, each
    /// renewal superseding exactly its own certificate and each enrollment consuming its own token, with one audit
    /// row each in an unbroken chain.
    /// </summary>
    [SkippableFact]
    public async Task Renew_ManyCertificatesWhileEnrolling_EachSupersedesItsOwnAndTheAuditChainHolds()
    {
        const int count = 12;
        var olds = new List<(string Serial, X509Certificate2 Certificate)>();
        for (var i = 0; i < count; i++)
        {
            olds.Add(await EnrollAsync($"batch-{i}", "P30D"));
        }
        var tokens = new List<string>();
        for (var i = 0; i < count; i++)
        {
            tokens.Add(await _factory.CreateTokenAsync($"fresh-{i}", [SpiffeId]));
        }

        var renewals = olds.Select(async (old, i) =>
        {
            using var client = _factory.CreateMtlsClient(old.Certificate);
            var response = await client.PostAsJsonAsync("/api/v1/renew", new { csr = Csrs.P256($"batch-{i}", SpiffeId) });
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            return (old.Serial, New: (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!.SerialNumber);
        }).ToList();
        var enrollments = tokens.Select(async (token, i) =>
            (await _factory.EnrollAsync(token, Csrs.P256($"fresh-{i}", SpiffeId))).StatusCode).ToList();
        var renewed = await Task.WhenAll(renewals);
        Assert.All(await Task.WhenAll(enrollments), status => Assert.Equal(HttpStatusCode.Created, status));

        foreach (var (oldSerial, newSerial) in renewed)
        {
            var (oldRecord, newRecord) = await RecordsAsync(oldSerial, newSerial);
            Assert.Equal(CertificateStatus.Superseded, oldRecord.Status);
            Assert.Equal(newSerial, oldRecord.SupersededBy);
            Assert.Equal(CertificateStatus.Active, newRecord.Status);
            Assert.Equal(oldRecord.CommonName, newRecord.CommonName);
        }
        Assert.Equal(count, await AuditRowsAsync("certificate.renew"));
        Assert.Equal(2 * count, await AuditRowsAsync("certificate.issue"));
        using var admin = _factory.CreateAdminClient();
        var verification = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/verify");
        Assert.True(verification.GetProperty("valid").GetBoolean(), verification.ToString());
        await using var scope = _factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();
        Assert.Equal(0, await db.EnrollmentTokens.CountAsync(t => t.CommonName.StartsWith("fresh-") && t.UsedAt == null));
    }

    /// <summary>
    /// A client certificate whose issuer the listener does not hold, with an AIA caIssuers URL: the handshake's chain
    /// build must not fetch it (a client could otherwise make the CA connect to a host of its choosing, and a host that
    /// is slow to resolve or answer held the handshake until Kestrel's timeout). The URL is a local listener that counts
    /// connections; the renewal is refused with 401 as for any foreign certificate.
    /// </summary>
    [SkippableFact]
    public async Task Renew_ForeignCertificateWithAiaUrl_ListenerFetchesNothingAndAnswers401()
    {
        _ = _factory.Services; // starts the host and its listeners
        using var aia = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        aia.Start();
        var fetches = 0;
        _ = Task.Run(async () =>
        {
            while (true)
            {
                using var connection = await aia.AcceptTcpClientAsync();
                Interlocked.Increment(ref fetches);
            }
        });
        var url = $"http://127.0.0.1:{((System.Net.IPEndPoint)aia.LocalEndpoint).Port}/issuing.crt";
        using var foreignRootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rootRequest = new CertificateRequest("CN=Foreign Root", foreignRootKey, HashAlgorithmName.SHA256);
        rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var foreignRoot = rootRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafRequest = new CertificateRequest("CN=renewing", leafKey, HashAlgorithmName.SHA256);
        leafRequest.CertificateExtensions.Add(new X509AuthorityInformationAccessExtension(null, [url]));
        leafRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var leaf = leafRequest.Create(foreignRoot, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1), [0x41, 0x42]);
        using var leafWithKey = leaf.CopyWithPrivateKey(leafKey);
        // Sent alone (offline: the client does not look for its issuer either), as an attacker would.
        using var handler = new SocketsHttpHandler
        {
            SslOptions = new System.Net.Security.SslClientAuthenticationOptions
            {
                ClientCertificateContext = System.Net.Security.SslStreamCertificateContext.Create(leafWithKey, null, offline: true),
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            },
        };
        using var client = new HttpClient(handler) { BaseAddress = _factory.MtlsAddress };

        var started = System.Diagnostics.Stopwatch.StartNew();
        var response = await client.PostAsJsonAsync("/api/v1/renew", new { csr = Csrs.P256("renewing", SpiffeId) });

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        await Task.Delay(200);
        Assert.Equal(0, Volatile.Read(ref fetches));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(8), $"the renewal took {started.Elapsed}");
    }

    [SkippableFact]
    public async Task Renew_OnPlainListener_Returns404()
    {
        var old = await EnrollAsync("plain", "P30D");
        using var client = _factory.CreateClient();

        var response = await client.PostAsJsonAsync("/api/v1/renew", new { csr = Csrs.P256("plain", SpiffeId) });

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Equal(CertificateStatus.Active, (await RecordsAsync(old.Serial, old.Serial)).Old.Status);
    }

    [SkippableFact]
    public async Task MtlsListener_OtherEndpoints_Return404()
    {
        using var client = _factory.CreateMtlsClient(null);

        var response = await client.GetAsync("/pki/ca.pem");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
    }

    [SkippableFact]
    public async Task ListenerCertificate_IsRecordedServerCertificateAndRenewedWhenAThirdOfItsLifeIsLeft()
    {
        var listener = _factory.Services.GetRequiredService<MtlsListenerCertificate>();
        var first = await listener.GetCertificateAsync(CancellationToken.None);
        Assert.Equal(first.SerialNumber.Hex, await ServerSerialAsync());
        var (record, _) = await RecordsAsync(first.SerialNumber.Hex, first.SerialNumber.Hex);
        Assert.Equal("server", record.Profile);
        Assert.Contains("localhost", record.SubjectAltNames);
        Assert.Contains("127.0.0.1", record.SubjectAltNames);

        Assert.False(await listener.RenewIfDueAsync(CancellationToken.None));
        _clock.Advance(TimeSpan.FromDays(21)); // of the default 30 days, less than a third is left
        Assert.True(await listener.RenewIfDueAsync(CancellationToken.None));

        var second = await listener.GetCertificateAsync(CancellationToken.None);
        Assert.NotEqual(first.SerialNumber, second.SerialNumber);
        Assert.Equal(second.SerialNumber.Hex, await ServerSerialAsync());
        Assert.Equal("server", (await RecordsAsync(second.SerialNumber.Hex, second.SerialNumber.Hex)).Old.Profile);
    }

    [SkippableFact]
    public async Task Renew_FloodWithoutCertificate_Gets429PastTheLimitAndAddsAFewAuditRows_WhileEnrollmentWorks()
    {
        var token = await _factory.CreateTokenAsync("during-flood");
        var csr = Csrs.P256("flood", SpiffeId);
        var renewRowsBefore = await AuditRowsAsync("certificate.renew");
        using var anonymous = _factory.CreateMtlsClient(null);

        var flood = Task.Run(async () =>
        {
            var statuses = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
            await Parallel.ForEachAsync(Enumerable.Range(0, 1000), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (_, cancellationToken) =>
            {
                using var response = await anonymous.PostAsJsonAsync("/api/v1/renew", new { csr }, cancellationToken);
                statuses.Add(response.StatusCode);
            });
            return statuses;
        });
        var enrolled = await _factory.EnrollAsync(token, Csrs.P256("during-flood"));
        var statuses = await flood;

        Assert.Equal(HttpStatusCode.Created, enrolled.StatusCode);
        Assert.All(statuses, status => Assert.Contains(status, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests }));
        // RateLimits:RenewalPerMinute (120) answered 401 per fixed window; the rest were refused before the handler.
        Assert.InRange(statuses.Count(s => s == HttpStatusCode.Unauthorized), 120, 240);
        var limited = await anonymous.PostAsJsonAsync("/api/v1/renew", new { csr });
        await ProblemAssert.IsProblemAsync(limited, HttpStatusCode.TooManyRequests);
        Assert.True(limited.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        // One row in full for the first anonymous failure; the others wait for the interval's summary row.
        Assert.InRange(await AuditRowsAsync("certificate.renew") - renewRowsBefore, 1, 2);
    }

    [SkippableFact]
    public async Task Renew_RefusedCertificateOfOurs_EachRefusalIsAuditedUnderThatCertificate()
    {
        var old = await EnrollAsync("renewed-twice", "P30D");
        using var client = _factory.CreateMtlsClient(old.Certificate);
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/v1/renew", new { csr = Csrs.P256("renewed-twice", SpiffeId) })).StatusCode);

        for (var i = 0; i < 2; i++)
        {
            await ProblemAssert.IsProblemAsync(await client.PostAsJsonAsync("/api/v1/renew", new { csr = Csrs.P256("renewed-twice", SpiffeId) }), HttpStatusCode.Unauthorized);
        }

        await using var scope = _factory.Services.CreateAsyncScope();
        var refusals = await scope.ServiceProvider.GetRequiredService<PkiDbContext>().AuditEvents
            .Where(a => a.Action == "certificate.renew" && a.Outcome == "failure").ToListAsync();
        Assert.Equal(2, refusals.Count);
        Assert.All(refusals, r => Assert.Equal($"certificate:{old.Serial}", r.Actor));
        Assert.All(refusals, r => Assert.Contains("already renewed", r.Details, StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task Renew_WithoutValidity_KeepsTheOriginalLifetime_OneMinuteRenewsForOneMinute()
    {
        var old = await EnrollAsync("one-minute", "PT1M");
        using var client = _factory.CreateMtlsClient(old.Certificate);

        var response = await client.PostAsJsonAsync("/api/v1/renew", new { csr = Csrs.P256("one-minute", SpiffeId) });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var renewed = (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        Assert.Equal(TimeSpan.FromMinutes(1), renewed.NotAfter - renewed.NotBefore - TimeSpan.FromMinutes(1));
    }

    [SkippableFact]
    public async Task Renew_RequestedValidityOverTheTokenCap_IsCappedAtTheTokenCap()
    {
        var old = await EnrollAsync("token-capped", "P30D");
        await SetTokenMaxValidityAsync(old.Serial, TimeSpan.FromDays(1));
        using var client = _factory.CreateMtlsClient(old.Certificate);

        var response = await client.PostAsJsonAsync("/api/v1/renew", new { csr = Csrs.P256("token-capped", SpiffeId), validity = "P30D" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var renewed = (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        Assert.Equal(TimeSpan.FromDays(1), renewed.NotAfter - renewed.NotBefore - TimeSpan.FromMinutes(1));
    }

    [SkippableFact]
    public async Task Renew_WithoutValidity_OriginalLifetimeOverTheTokenCap_IsCappedAtTheTokenCap()
    {
        var old = await EnrollAsync("lifetime-capped", "P30D");
        await SetTokenMaxValidityAsync(old.Serial, TimeSpan.FromHours(12));
        using var client = _factory.CreateMtlsClient(old.Certificate);

        var response = await client.PostAsJsonAsync("/api/v1/renew", new { csr = Csrs.P256("lifetime-capped", SpiffeId) });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var renewed = (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        Assert.Equal(TimeSpan.FromHours(12), renewed.NotAfter - renewed.NotBefore - TimeSpan.FromMinutes(1));
    }

    [SkippableFact]
    public async Task Renew_RequestedValidityOverTheProfileMaximum_IsCappedAtTheProfileMaximum()
    {
        var old = await EnrollAsync("profile-capped", "P30D");
        using var client = _factory.CreateMtlsClient(old.Certificate);

        var response = await client.PostAsJsonAsync("/api/v1/renew", new { csr = Csrs.P256("profile-capped", SpiffeId), validity = "P1000D" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var renewed = (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        Assert.Equal(TimeSpan.FromDays(397), renewed.NotAfter - renewed.NotBefore - TimeSpan.FromMinutes(1));
    }

    /// <summary>
    /// Decision pinned here (README, Rotation): a server certificate authenticates the renewal of itself although it has
    /// no clientAuth EKU; this service is the relying party and authorizes only that certificate's names and profile.
    /// </summary>
    [SkippableFact]
    public async Task Renew_ServerCertificateWithoutClientAuthEku_RenewsItselfAsServerCertificate()
    {
        var old = await EnrollAsync("server-1", "P30D", profile: "server");
        using (var presented = X509CertificateLoader.LoadCertificate(old.Certificate.RawData))
        {
            var eku = Assert.Single(presented.Extensions.OfType<X509EnhancedKeyUsageExtension>());
            Assert.Equal(["1.3.6.1.5.5.7.3.1"], eku.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value));
        }
        using var client = _factory.CreateMtlsClient(old.Certificate);

        var response = await client.PostAsJsonAsync("/api/v1/renew", new { csr = Csrs.P256("server-1", SpiffeId) });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var renewed = (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        using var certificate = X509Certificate2.CreateFromPem(renewed.Certificate);
        var renewedEku = Assert.Single(certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>());
        Assert.Equal(["1.3.6.1.5.5.7.3.1"], renewedEku.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value));
        var (oldRecord, newRecord) = await RecordsAsync(old.Serial, renewed.SerialNumber);
        Assert.Equal((CertificateStatus.Superseded, "server"), (oldRecord.Status, newRecord.Profile));
    }

    [SkippableFact]
    public async Task Renew_SameKey_Returns400SayingToGenerateANewKeyAndOldStaysActive()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var old = await EnrollAsync("same-key", "P30D", key);
        using var client = _factory.CreateMtlsClient(old.Certificate);

        var response = await client.PostAsJsonAsync("/api/v1/renew", new { csr = Csr(key, "same-key", SpiffeId) });

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("new key", problem.GetProperty("title").GetString());
        var (record, _) = await RecordsAsync(old.Serial, old.Serial);
        Assert.Equal((CertificateStatus.Active, null), (record.Status, record.SupersededBy));
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/v1/renew", new { csr = Csrs.P256("same-key", SpiffeId) })).StatusCode);
    }

    [SkippableFact]
    public async Task Renew_SameKeyWithAllowKeyReuse_Returns201CertifyingTheSameKey()
    {
        using var factory = new PkiApiFactory(timeProvider: _clock, settings: new Dictionary<string, string?> { ["Renewal:AllowKeyReuse"] = "true" }, mtlsListener: true, database: database);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var old = await EnrollAsync("reused-key", "P30D", key, factory: factory);
        using var client = factory.CreateMtlsClient(old.Certificate);

        var response = await client.PostAsJsonAsync("/api/v1/renew", new { csr = Csr(key, "reused-key", SpiffeId) });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var renewed = (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        using var certificate = X509Certificate2.CreateFromPem(renewed.Certificate);
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), certificate.PublicKey.ExportSubjectPublicKeyInfo());
    }

    /// <summary>Sets the validity cap of the token <paramref name="serial"/> was enrolled with, straight in the database.</summary>
    private async Task SetTokenMaxValidityAsync(string serial, TimeSpan maxValidity)
    {
        await using var scope = _factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();
        var tokenId = (await db.Certificates.AsNoTracking().SingleAsync(c => c.SerialNumber == serial)).EnrollmentTokenId;
        var token = await db.EnrollmentTokens.SingleAsync(t => t.Id == tokenId);
        token.MaxValidity = maxValidity;
        await db.SaveChangesAsync();
    }

    /// <summary>The serial of the certificate the mTLS listener presents in a new handshake.</summary>
    private async Task<string> ServerSerialAsync()
    {
        string? serial = null;
        var handler = new SocketsHttpHandler
        {
            SslOptions =
            {
                CertificateChainPolicy = new X509ChainPolicy { DisableCertificateDownloads = true },
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    serial = Convert.ToHexString(((X509Certificate2)certificate!).SerialNumberBytes.Span);
                    return true;
                },
            },
        };
        using var client = new HttpClient(handler) { BaseAddress = _factory.MtlsAddress };
        using var response = await client.GetAsync("/");
        return serial ?? throw new InvalidOperationException("No server certificate was seen.");
    }

    private async Task<(string Serial, X509Certificate2 Certificate)> EnrollAsync(
        string commonName, string validity, ECDsa? key = null, string profile = "client", PkiApiFactory? factory = null)
    {
        factory ??= _factory;
        using var ownKey = key is null ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : null;
        key ??= ownKey!;
        var token = await factory.CreateTokenAsync(commonName, [SpiffeId], profile);
        var response = await factory.EnrollAsync(token, Csr(key, commonName, SpiffeId), validity);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        using var certificate = X509Certificate2.CreateFromPem(body.Certificate);
        return (body.SerialNumber, certificate.CopyWithPrivateKey(key));
    }

    private async Task<int> AuditRowsAsync(string action)
    {
        await using var scope = _factory.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<PkiDbContext>().AuditEvents.CountAsync(a => a.Action == action);
    }

    private async Task<(CertificateRecord Old, CertificateRecord New)> RecordsAsync(string oldSerial, string newSerial)
    {
        await using var scope = _factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();
        return (await db.Certificates.AsNoTracking().SingleAsync(c => c.SerialNumber == oldSerial),
            await db.Certificates.AsNoTracking().SingleAsync(c => c.SerialNumber == newSerial));
    }

    private static string Csr(ECDsa key, string commonName, string uriSan)
    {
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var sans = new SubjectAlternativeNameBuilder();
        sans.AddUri(new Uri(uriSan));
        request.CertificateExtensions.Add(sans.Build());
        return request.CreateSigningRequestPem();
    }
}

/// <summary><see cref="RenewalTests"/> on the embedded SQLite file.</summary>
public sealed class RenewalTestsOnSqlite() : RenewalTests(TestDatabase.Sqlite);

/// <summary><see cref="RenewalTests"/> on a real PostgreSQL database.</summary>
public sealed class RenewalTestsOnPostgres() : RenewalTests(TestDatabase.Postgres);
