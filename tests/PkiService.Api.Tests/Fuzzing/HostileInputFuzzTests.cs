using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Ocsp;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Ocsp;
using PkiService.Api.Tests.Support;
using Xunit.Abstractions;
using BcBigInteger = Org.BouncyCastle.Math.BigInteger;
using BcX509Certificate = Org.BouncyCastle.X509.X509Certificate;
using PkiService.Api.Issuance;

namespace PkiService.Api.Tests.Fuzzing;

/// <summary>
/// Mutation fuzzing of the parsers that face the network, through the real HTTP stack: CSRs to /api/v1/enroll, OCSP
/// requests to POST /ocsp and GET /ocsp/{base64}, and hostile JSON to every JSON endpoint. Every answer must be a 4xx
/// problem+json (or, for OCSP, an OCSP response that is not internalError); never a 5xx, never a hang; and the
/// service is still ready afterwards. Seeded: set PKI_FUZZ_SEED to rerun another seed; a failure names the seed and case.
/// </summary>
public sealed class HostileInputFuzzTests(ITestOutputHelper output)
{
    private const int DefaultSeed = 20_251_105;
    private const int CsrCases = 10_000;
    private const int OcspCases = 10_000;
    private const int JsonMutationCases = 2_000;
    private const int Workers = 8;
    private const string CommonName = "fuzz";
    private const string Spiffe = "spiffe://example.org/fuzz";
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(15);

    private static readonly Dictionary<string, string?> Unthrottled = new()
    {
        ["RateLimits:EnrollmentPerMinute"] = "1000000",
        ["RateLimits:PublicPerSecond"] = "1000000",
        ["RateLimits:AuthenticationFailuresPerMinute"] = "1000000",
    };

    private readonly ConcurrentQueue<string> _failures = new();
    private int _serverErrors;

    [Fact]
    public async Task HostileInput_MutatedCsrsOcspRequestsAndJson_NeverAnswer5xxOrHang_AndServiceStaysReady()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("PKI_FUZZ_SEED"), out var chosen) ? chosen : DefaultSeed;
        output.WriteLine($"fuzz seed {seed} (rerun with PKI_FUZZ_SEED={seed})");
        // On tmpfs when there is one: each refused CSR commits an audit row, and this test is about parsers, not fsync.
        var memoryDirectory = Directory.Exists("/dev/shm")
            ? Directory.CreateDirectory(Path.Combine("/dev/shm", "pki-fuzz-" + Guid.NewGuid().ToString("N")[..12])).FullName
            : null;
        using var factory = new PkiApiFactory(memoryDirectory, settings: Unthrottled);
        using var client = factory.CreateClient();
        client.Timeout = Timeout.InfiniteTimeSpan; // each call has its own deadline
        var started = Stopwatch.StartNew();

        var (csrs, accepted, serials) = await FuzzCsrsAsync(factory, client, seed);
        output.WriteLine($"CSR: {csrs} cases in {started.Elapsed.TotalSeconds:F1} s, {accepted} accepted");
        started.Restart();
        var (ocsp, ocspCalls, ocspStatuses) = await FuzzOcspAsync(client, seed, serials);
        output.WriteLine($"OCSP: {ocsp} cases, {ocspCalls} calls in {started.Elapsed.TotalSeconds:F1} s; answers {ocspStatuses}");
        started.Restart();
        var json = await HostileJsonAsync(factory, client, seed);
        output.WriteLine($"JSON: {json} calls in {started.Elapsed.TotalSeconds:F1} s");

        var ready = await client.GetAsync("/health/ready");
        factory.Dispose();
        if (memoryDirectory is not null)
        {
            Directory.Delete(memoryDirectory, recursive: true);
        }
        var figure = $"FIGURE fuzz: csr={csrs} ocsp={ocsp} json={json} 5xx={_serverErrors}";
        output.WriteLine(figure);
        Console.WriteLine(figure);
        Assert.True(_failures.IsEmpty, $"{_failures.Count} bad answers (seed {seed}):\n{string.Join("\n", _failures.Take(20))}");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.True(csrs >= CsrCases && ocsp >= OcspCases, figure);
    }

    // ---- CSRs ----

    private async Task<(int Cases, int Accepted, string[] Serials)> FuzzCsrsAsync(PkiApiFactory factory, HttpClient client, int seed)
    {
        var seeds = new[]
        {
            Der(Csrs.P256(CommonName, Spiffe)),
            Der(Csrs.Ecdsa(CommonName, ECCurve.NamedCurves.nistP384, Spiffe)),
            Der(Csrs.Rsa(CommonName, 2048)),
            Der(Csrs.Ed25519(CommonName)),
        };
        // Each seed is accepted as it is, so the mutants start one edit away from a certificate.
        var serials = new List<string>();
        foreach (var der in seeds)
        {
            var response = await factory.EnrollAsync(await NewTokenAsync(factory), Pem(der), "P1D");
            Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
            serials.Add((await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!.SerialNumber);
        }

        var next = -1;
        var accepted = 0;
        await Task.WhenAll(Enumerable.Range(0, Workers).Select(async _ =>
        {
            // A refused CSR never consumes the token, so a worker keeps one until a mutant happens to be accepted.
            var token = await NewTokenAsync(factory);
            int n;
            while ((n = Interlocked.Increment(ref next)) < CsrCases)
            {
                var (der, what) = DerMutator.Mutate(seeds[n % seeds.Length], seed, n);
                using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/enroll")
                {
                    Content = JsonContent.Create(new { csr = Pem(der), validity = "P1D" }),
                };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                var answer = await SendAsync(client, request, $"csr case {n} ({what})");
                if (answer is { Status: HttpStatusCode.Created })
                {
                    Interlocked.Increment(ref accepted);
                    token = await NewTokenAsync(factory);
                }
                else if (answer is { } a)
                {
                    ExpectProblem(a, $"csr case {n} ({what})");
                }
            }
        }));
        return (CsrCases, accepted, serials.ToArray());
    }

    private static async Task<string> NewTokenAsync(PkiApiFactory factory) => await factory.CreateTokenAsync(CommonName, [Spiffe], ttl: "PT1H");

    // ---- OCSP ----

    private async Task<(int Cases, int Calls, string Statuses)> FuzzOcspAsync(HttpClient client, int seed, string[] serials)
    {
        var issuing = OcspClient.Parse(await client.GetByteArrayAsync("/pki/ca.crt"));
        var root = OcspClient.Parse(await client.GetByteArrayAsync("/pki/root.crt"));
        var seeds = new[]
        {
            OcspClient.Request(issuing, serials[0]),
            OcspClient.Request(issuing, serials[1], OcspClient.Sha256),
            OcspRequest([(issuing, serials[2]), (issuing, serials[3]), (root, issuing.SerialNumber.ToString(16))], nonce: true),
            OcspRequest([(issuing, "7F0102030405")], nonce: true),
        };

        var statuses = new ConcurrentDictionary<string, int>();
        var next = -1;
        var calls = 0;
        await Task.WhenAll(Enumerable.Range(0, Workers).Select(async _ =>
        {
            int n;
            while ((n = Interlocked.Increment(ref next)) < OcspCases)
            {
                var (der, what) = DerMutator.Mutate(seeds[n % seeds.Length], seed + 1, n);
                var content = new ByteArrayContent(der);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/ocsp-request");
                using var post = new HttpRequestMessage(HttpMethod.Post, "/ocsp") { Content = content };
                CheckOcsp(await SendAsync(client, post, $"ocsp POST case {n} ({what})"), $"ocsp POST case {n} ({what})", statuses);
                Interlocked.Increment(ref calls);

                var path = "/ocsp/" + Uri.EscapeDataString(Convert.ToBase64String(der));
                if (path.Length <= 6000) // Kestrel refuses request lines over 8 KiB before the endpoint sees them
                {
                    using var get = new HttpRequestMessage(HttpMethod.Get, path);
                    CheckOcsp(await SendAsync(client, get, $"ocsp GET case {n} ({what})"), $"ocsp GET case {n} ({what})", statuses);
                    Interlocked.Increment(ref calls);
                }
            }
        }));
        return (OcspCases, calls, string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key} {s.Value}")));
    }

    private static byte[] OcspRequest(IEnumerable<(BcX509Certificate Issuer, string SerialHex)> certificates, bool nonce)
    {
        var generator = new OcspReqGenerator();
        foreach (var (issuer, serial) in certificates)
        {
            var algorithm = new AlgorithmIdentifier(new DerObjectIdentifier(OcspClient.Sha256), DerNull.Instance);
            generator.AddRequest(new CertificateID(algorithm, issuer, new BcBigInteger(serial, 16)));
        }
        if (nonce)
        {
            var extensions = new X509ExtensionsGenerator();
            extensions.AddExtension(OcspObjectIdentifiers.PkixOcspNonce, false, new DerOctetString(RandomNumberGenerator.GetBytes(16)));
            generator.SetRequestExtensions(extensions.Generate());
        }
        return generator.Generate().GetEncoded();
    }

    private void CheckOcsp(Answer? answer, string what, ConcurrentDictionary<string, int> statuses)
    {
        if (answer is not { } a)
        {
            return;
        }
        if (a.Status == HttpStatusCode.RequestEntityTooLarge)
        {
            ExpectProblem(a, what);
            return;
        }
        if (a.Status != HttpStatusCode.OK || a.ContentType != "application/ocsp-response")
        {
            Fail(what, $"{(int)a.Status} {a.ContentType} instead of an OCSP response");
            return;
        }
        try
        {
            var response = new OcspResp(a.Body);
            var status = response.Status switch
            {
                OcspRespStatus.Successful => "successful",
                OcspRespStatus.MalformedRequest => "malformedRequest",
                OcspRespStatus.InternalError => "internalError",
                OcspRespStatus.TryLater => "tryLater",
                OcspRespStatus.SigRequired => "sigRequired",
                OcspRespStatus.Unauthorized => "unauthorized",
                var other => $"status {other}",
            };
            if (response.Status == OcspRespStatus.Successful)
            {
                _ = ((BasicOcspResp)response.GetResponseObject()).Responses; // the body parses
            }
            statuses.AddOrUpdate(status, 1, (_, count) => count + 1);
            if (response.Status == OcspRespStatus.InternalError)
            {
                Fail(what, "OCSP internalError (the responder failed on this input)");
            }
        }
        catch (Exception exception)
        {
            Fail(what, $"the answer is not an OCSP response: {exception.Message}");
        }
    }

    // ---- JSON ----

    private async Task<int> HostileJsonAsync(PkiApiFactory factory, HttpClient client, int seed)
    {
        var token = await NewTokenAsync(factory);
        var endpoints = new (string Name, string Path, string Bearer, string ValidBody)[]
        {
            ("enroll", "/api/v1/enroll", token, $$"""{"csr":"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n","validity":"P1D"}"""),
            ("enrollment-tokens", "/api/v1/enrollment-tokens", PkiApiFactory.AdminKey, """{"commonName":"json-fuzz","sans":["spiffe://example.org/json"],"profile":"client","ttl":"PT1H","contactEmail":"ops@example.org"}"""),
            ("revoke", "/api/v1/certificates/7F0102030405/revoke", PkiApiFactory.AdminKey, """{"reason":"keyCompromise","invalidityDate":"2024-01-01T00:00:00Z"}"""),
            ("api-keys", "/api/v1/api-keys", PkiApiFactory.AdminKey, """{"name":"json-fuzz","role":"auditor"}"""),
        };
        var calls = 0;
        foreach (var (name, path, bearer, _) in endpoints)
        {
            foreach (var (body, contentType, description) in HostileBodies())
            {
                var answer = await PostRawAsync(client, path, bearer, body, contentType, $"json {name}: {description}");
                if (answer is { } a)
                {
                    ExpectProblem(a, $"json {name}: {description}");
                }
                calls++;
            }
        }
        // ('%00' is left out: Kestrel itself refuses a NUL in the path with a bare 400 before any endpoint runs.)
        foreach (var serial in new[] { "zz", "-1", "0", "00:00", new string('F', 200), "%2500", "..%2F..%2Fhealth", new string('9', 5000) })
        {
            var answer = await PostRawAsync(client, $"/api/v1/certificates/{serial}/revoke", PkiApiFactory.AdminKey,
                """{"reason":"keyCompromise"}"""u8.ToArray(), "application/json", $"revoke serial '{serial[..Math.Min(serial.Length, 20)]}'");
            if (answer is { } a)
            {
                ExpectProblem(a, $"revoke serial '{serial[..Math.Min(serial.Length, 20)]}'");
            }
            calls++;
        }

        // Byte mutations of valid bodies: any answer but a 5xx or a hang is fine (a mutant may still be a valid request).
        for (var n = 0; n < JsonMutationCases; n++)
        {
            var (endpoint, path, bearer, valid) = endpoints[n % endpoints.Length];
            var (body, what) = DerMutator.Mutate(Encoding.UTF8.GetBytes(valid), seed + 2, n);
            var answer = await PostRawAsync(client, path, bearer, body, "application/json", $"json {endpoint} case {n} ({what})");
            if (answer is { } a && (int)a.Status >= 300)
            {
                ExpectProblem(a, $"json {endpoint} case {n} ({what})");
            }
            calls++;
        }
        return calls;
    }

    /// <summary>Bodies no JSON endpoint may accept: each must get a 4xx problem+json.</summary>
    private static IEnumerable<(byte[] Body, string ContentType, string Description)> HostileBodies()
    {
        const string Json = "application/json";
        (byte[], string, string) Text(string body, string description, string contentType = Json) => (Encoding.UTF8.GetBytes(body), contentType, description);

        yield return Text("", "empty body");
        yield return Text("null", "null body");
        yield return Text("[]", "array body");
        yield return Text("\"text\"", "string body");
        yield return Text("12", "number body");
        yield return Text("{", "truncated object");
        yield return Text("{\"csr\":\"", "truncated string");
        yield return Text("{\"csr\":1,\"commonName\":2,\"reason\":3,\"name\":4,\"role\":5}", "numbers for strings");
        yield return Text("{\"csr\":[\"a\"],\"commonName\":[\"a\"],\"reason\":[\"a\"],\"name\":[\"a\"],\"role\":[\"a\"]}", "arrays for strings");
        yield return Text("{\"csr\":{\"a\":1},\"commonName\":{},\"reason\":{},\"name\":{},\"role\":{}}", "objects for strings");
        yield return Text("{\"csr\":true,\"commonName\":false,\"reason\":true,\"name\":false,\"role\":true}", "booleans for strings");
        yield return Text("{\"sans\":\"spiffe://x\",\"invalidityDate\":\"yesterday\",\"ttl\":5,\"validity\":5}", "wrong types for the other fields");
        yield return Text("{\"sans\":[1,2,{}],\"commonName\":\"\",\"invalidityDate\":12}", "numbers in an array of strings");
        yield return Text("{\"csr\":1e999999,\"commonName\":1e999999,\"reason\":1e999999,\"name\":1e999999}", "huge exponent");
        yield return Text("{\"validity\":123456789012345678901234567890123456789,\"ttl\":-1e308,\"invalidityDate\":1e308}", "huge integers");
        yield return Text("{\"invalidityDate\":\"0001-01-01T00:00:00+14:00\",\"reason\":\"nope\",\"commonName\":\"\",\"name\":\"\"}", "date before DateTime.MinValue in UTC");
        yield return Text("{\"invalidityDate\":\"9999-12-31T23:59:59-14:00\",\"reason\":\"keyCompromise\",\"commonName\":\"\",\"name\":\"\"}", "date after DateTime.MaxValue in UTC");
        yield return Text("{\"validity\":\"P99999999999D\",\"ttl\":\"P99999999999D\",\"csr\":\"\",\"commonName\":\"\",\"reason\":\"x\",\"name\":\"\"}", "durations that overflow");
        yield return Text("{\"validity\":\"P10675199D\",\"ttl\":\"P10675199D\",\"csr\":\"\",\"commonName\":\"x\",\"reason\":\"x\",\"name\":\"\"}", "duration of TimeSpan.MaxValue days");
        yield return Text(new string('[', 10_000) + new string(']', 10_000), "10,000 nested arrays");
        yield return Text("{\"csr\":" + new string('[', 10_000) + new string(']', 10_000) + "}", "10,000 nested arrays in a field");
        yield return Text(string.Concat(Enumerable.Repeat("{\"a\":", 10_000)) + "1" + new string('}', 10_000), "10,000 nested objects");
        yield return Text("{\"csr\":\"" + new string('A', 60_000) + "\",\"commonName\":\"\",\"reason\":\"x\",\"name\":\"\"}", "60,000-character string");
        yield return Text("{\"csr\":\"" + new string('A', 2_000_000) + "\"}", "2,000,000-character string (over every body limit)");
        yield return Text("{\"commonName\":\"" + new string('x', 10_000) + "\",\"name\":\"" + new string('x', 10_000) + "\",\"csr\":\"x\",\"reason\":\"x\"}", "10,000-character names");
        yield return Text("{\"sans\":[" + string.Join(",", Enumerable.Repeat("\"spiffe://example.org/x\"", 1000)) + "],\"csr\":\"x\",\"reason\":\"x\",\"name\":\"\"}", "1,000 SANs");
        yield return Text("{\"unknown\":1,\"__proto__\":{\"admin\":true},\"$type\":\"System.IO.FileInfo\",\"csr\":\"x\",\"reason\":\"x\",\"name\":\"\"}", "unknown and polymorphism fields");
        yield return Text("{\"csr\":\"x\",\"csr\":\"y\",\"commonName\":\"a\",\"commonName\":\"\",\"reason\":\"keyCompromise\",\"reason\":\"x\",\"name\":\"a\",\"name\":\"\"}", "duplicate keys");
        yield return Text("{\"csr\":\"\\ud800\",\"commonName\":\"\\ud800\\udfff\\udc00\",\"reason\":\"\\ud800\",\"name\":\"\",\"role\":\"\\u0000\"}", "lone surrogates and NUL");
        yield return ([.. "{\"csr\":\""u8, 0xFF, 0xFE, 0xC0, 0x80, .. "\",\"commonName\":\""u8, 0xED, 0xA0, 0x80, .. "\"}"u8], Json, "invalid UTF-8");
        yield return ([0xEF, 0xBB, 0xBF, .. "{\"csr\":\"x\",\"reason\":\"x\",\"name\":\"\"}"u8], Json, "byte order mark");
        yield return ([0xFF, 0xFE, .. Encoding.Unicode.GetBytes("{\"csr\":\"x\"}")], Json, "UTF-16 body");
        yield return Text("{\"csr\":\"x\"} trailing", "trailing garbage");
        yield return Text("{\"csr\":\"x\",}", "trailing comma");
        yield return Text("{/* comment */\"csr\":\"x\"}", "comment");
        yield return Text("{'csr':'x'}", "single quotes");
        yield return Text("{\"csr\":NaN,\"reason\":Infinity}", "NaN and Infinity");
        yield return Text("{\"csr\":\"x\",\"reason\":\"x\",\"name\":\"\"}", "text/plain content type", "text/plain");
        yield return Text("{\"csr\":\"x\",\"reason\":\"x\",\"name\":\"\"}", "form content type", "application/x-www-form-urlencoded");
        yield return Text("<csr>x</csr>", "XML", "application/xml");
        yield return Text("{\"csr\":\"x\",\"reason\":\"x\",\"name\":\"\"}", "JSON with a UTF-16 charset", "application/json; charset=utf-16");
    }

    // ---- HTTP ----

    private readonly record struct Answer(HttpStatusCode Status, string? ContentType, byte[] Body);

    private async Task<Answer?> PostRawAsync(HttpClient client, string path, string bearer, byte[] body, string contentType, string what)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        request.Headers.ExpectContinue = body.Length > 64 * 1024; // lets the server refuse an oversized body before it is sent
        return await SendAsync(client, request, what);
    }

    /// <summary>Sends with a deadline; null (and a failure) on a hang or a 5xx.</summary>
    private async Task<Answer?> SendAsync(HttpClient client, HttpRequestMessage request, string what)
    {
        using var deadline = new CancellationTokenSource(RequestTimeout);
        try
        {
            using var response = await client.SendAsync(request, deadline.Token);
            var body = await response.Content.ReadAsByteArrayAsync(deadline.Token);
            var answer = new Answer(response.StatusCode, response.Content.Headers.ContentType?.MediaType, body);
            if ((int)response.StatusCode >= 500)
            {
                Interlocked.Increment(ref _serverErrors);
                Fail(what, $"{(int)response.StatusCode}: {Encoding.UTF8.GetString(body[..Math.Min(body.Length, 300)])}");
                return null;
            }
            return answer;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            Fail(what, $"no answer within {RequestTimeout.TotalSeconds} s");
            return null;
        }
        catch (HttpRequestException exception)
        {
            Fail(what, $"connection failed: {exception.Message}");
            return null;
        }
    }

    private void ExpectProblem(Answer answer, string what)
    {
        if ((int)answer.Status is < 400 or >= 500 || answer.ContentType != "application/problem+json")
        {
            Fail(what, $"{(int)answer.Status} {answer.ContentType}: {Encoding.UTF8.GetString(answer.Body[..Math.Min(answer.Body.Length, 300)])}");
        }
    }

    private void Fail(string what, string why) => _failures.Enqueue($"{what}: {why}");

    private static byte[] Der(string pem) => PemEncoding.Find(pem) is var fields ? Convert.FromBase64String(pem[fields.Base64Data]) : [];

    private static string Pem(byte[] der) => PemEncoding.WriteString("CERTIFICATE REQUEST", der);
}
