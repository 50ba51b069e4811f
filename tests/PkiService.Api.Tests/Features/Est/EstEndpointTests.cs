using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Org.BouncyCastle.Cms;
using Org.BouncyCastle.Security;
using PkiService.Api.Tests.Support;
using PkiService.Core.Authorities;
using PkiService.Persistence;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Tests.Features.Est;

/// <summary>
/// EST (RFC 7030, RFC 8951) over the real mTLS listener (Kestrel, TLS, client certificates), answers parsed with
/// BouncyCastle. The curl/openssl and Bouncy Castle Java views of the same endpoints are in the interop tests.
/// </summary>
public sealed class EstEndpointTests : IDisposable
{
    private const string Challenge = "Basic realm=\"PkiService EST\"";

    private readonly AdjustableTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly PkiApiFactory _factory;

    public EstEndpointTests()
    {
        _factory = new PkiApiFactory(timeProvider: _clock, mtlsListener: true);
    }

    public void Dispose() => _factory.Dispose();

    [Theory]
    [InlineData("/.well-known/est/cacerts")]
    [InlineData("/.well-known/est/client/cacerts")]
    [InlineData("/.well-known/est/server/cacerts")]
    public async Task CaCerts_AnyLabel_ReturnsIssuingCaAndRootAsCertsOnlyBase64(string path)
    {
        using var client = _factory.CreateMtlsClient(null);

        var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/pkcs7-mime", response.Content.Headers.ContentType?.ToString());
        var certificates = await CertsOnlyAsync(response);
        var hierarchy = _factory.Services.GetRequiredService<CaHierarchy>();
        // A DER SET OF: sorted by encoding, not in the order given (RFC 5652 5.1 certificates is a SET).
        Assert.Equal(
            new[] { hierarchy.Issuing.Der, hierarchy.Root.Der }.Select(Convert.ToHexString).Order(),
            certificates.Select(c => Convert.ToHexString(c.RawData)).Order());
    }

    [Theory]
    [InlineData("/.well-known/est/csrattrs")]
    [InlineData("/.well-known/est/server/csrattrs")]
    public async Task CsrAttrs_ReturnsEcdsaWithSha256OnP256(string path)
    {
        using var client = _factory.CreateMtlsClient(null);

        var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/csrattrs", response.Content.Headers.ContentType?.ToString());
        Assert.Equal("3021" + "06082A8648CE3D040302" + "3015" + "06072A8648CE3D0201" + "310A" + "06082A8648CE3D030107",
            Convert.ToHexString(await Base64BodyAsync(response)));
    }

    [Fact]
    public async Task SimpleEnroll_Basic_IssuesListedAuditedCertificateForTheCsrKey()
    {
        var token = await _factory.CreateTokenAsync("device-1", ["spiffe://example.org/device-1"]);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var client = _factory.CreateMtlsClient(null); // no client certificate: the listener asks, never requires

        var response = await PostAsync(client, "/.well-known/est/simpleenroll", Base64Csr(key, "device-1", "spiffe://example.org/device-1"), Basic(token));

        var certificate = Assert.Single(await IssuedAsync(response));
        Assert.Equal("CN=device-1", certificate.Subject);
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), certificate.PublicKey.ExportSubjectPublicKeyInfo());
        Assert.Contains("1.3.6.1.5.5.7.3.2", EkuOf(certificate)); // the label-less base is the client profile
        var serial = SerialOf(certificate);
        using var admin = _factory.CreateAdminClient();
        var listed = await admin.GetFromJsonAsync<JsonElement>("/api/v1/certificates?commonName=device-1");
        Assert.Contains(serial, listed.ToString(), StringComparison.OrdinalIgnoreCase);
        var audit = await AuditAsync("certificate.issue", serial);
        Assert.EndsWith(", via est", audit.Details, StringComparison.Ordinal);
        Assert.Equal("success", audit.Outcome);
    }

    [Fact]
    public async Task SimpleEnroll_Bearer_Returns200()
    {
        var token = await _factory.CreateTokenAsync("device-bearer");
        using var client = _factory.CreateMtlsClient(null);

        var response = await PostAsync(client, "/.well-known/est/client/simpleenroll", Base64(Csrs.P256("device-bearer")), new AuthenticationHeaderValue("Bearer", token));

        Assert.Equal("CN=device-bearer", Assert.Single(await IssuedAsync(response)).Subject);
    }

    [Fact]
    public async Task SimpleEnroll_ServerLabelWithServerToken_IssuesServerCertificate()
    {
        var token = await _factory.CreateTokenAsync("web.example.org", ["web.example.org"], profile: "server");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var client = _factory.CreateMtlsClient(null);

        var response = await PostAsync(client, "/.well-known/est/server/simpleenroll", DnsCsrBase64(key, "web.example.org"), Basic(token));

        var certificate = Assert.Single(await IssuedAsync(response));
        Assert.Equal(["1.3.6.1.5.5.7.3.1"], EkuOf(certificate));
    }

    public static TheoryData<string, string, bool> LenientBodies()
    {
        var pem = Csrs.P256("lenient");
        var base64 = Base64(pem).Replace("\n", "", StringComparison.Ordinal);
        return new()
        {
            { "no line breaks", base64, false },
            { "CRLF lines", string.Concat(base64.Chunk(64).Select(c => new string(c) + "\r\n")), false },
            { "PEM armour", pem, false },
            { "NEW CERTIFICATE REQUEST armour", pem.Replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST", StringComparison.Ordinal), false },
            { "Content-Transfer-Encoding header", base64 + "\n", true },
        };
    }

    [Theory]
    [MemberData(nameof(LenientBodies))]
    public async Task SimpleEnroll_Rfc8951Leniency_Returns200(string form, string body, bool transferEncodingHeader)
    {
        var token = await _factory.CreateTokenAsync("lenient");
        using var client = _factory.CreateMtlsClient(null);

        var response = await PostAsync(client, "/.well-known/est/simpleenroll", body, Basic(token), transferEncodingHeader);

        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{form}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("CN=lenient", Assert.Single(await IssuedAsync(response)).Subject);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("wrong")]
    [InlineData("used")]
    [InlineData("expired")]
    [InlineData("revoked")]
    [InlineData("malformed Basic")]
    public async Task SimpleEnroll_UnusableToken_Returns401WithBasicChallengeAndStoresNothing(string kind)
    {
        var (header, _) = await UnusableTokenAsync(kind, "refused-401");
        var before = await CertificateCountAsync();
        using var client = _factory.CreateMtlsClient(null);

        var response = await PostAsync(client, "/.well-known/est/simpleenroll", Base64(Csrs.P256("refused-401")), header);

        var text = await TextErrorAsync(response, HttpStatusCode.Unauthorized);
        if (kind is "none" or "malformed Basic")
        {
            Assert.Contains("password of HTTP Basic authentication", text, StringComparison.Ordinal); // EST's way, not only Bearer
        }
        Assert.Equal(before, await CertificateCountAsync());
    }

    [Fact]
    public async Task ServerKeyGen_NoToken_Returns401WithBasicChallengeAndStoresNothing()
    {
        var before = await CertificateCountAsync();
        using var client = _factory.CreateMtlsClient(null);

        var response = await PostAsync(client, "/.well-known/est/serverkeygen", Base64(Csrs.P256("nobody")), null);

        await TextErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal(before, await CertificateCountAsync());
    }

    [Fact]
    public async Task SimpleEnroll_JunkBodyWithoutToken_Returns401NotItsBodyError()
    {
        using var client = _factory.CreateMtlsClient(null);

        var response = await PostAsync(client, "/.well-known/est/simpleenroll", "junk!", null);

        await TextErrorAsync(response, HttpStatusCode.Unauthorized);
    }

    public static TheoryData<string, string, string, string> RefusedWithToken() => new()
    {
        // case, CSR common name, body kind, expected text
        { "name outside the token", "someone-else", "csr", "" },
        { "junk body", "kept", "junk", "base64" },
        { "binary body", "kept", "der", "base64" },
        { "tampered CSR", "kept", "tampered", "signature" },
        { "certificate PEM", "kept", "certificate-pem", "CERTIFICATE REQUEST" },
    };

    [Theory]
    [MemberData(nameof(RefusedWithToken))]
    public async Task SimpleEnroll_BadCsrWithGoodToken_Returns400StoresNothingTokenStillUsable(string kind, string commonName, string body, string expected)
    {
        var token = await _factory.CreateTokenAsync("kept");
        var before = await CertificateCountAsync();
        using var client = _factory.CreateMtlsClient(null);
        var content = body switch
        {
            "csr" => Base64(Csrs.P256(commonName)),
            "junk" => "this is not a CSR\n",
            "der" => Encoding.Latin1.GetString(Der(Csrs.P256(commonName))),
            "tampered" => Base64(Csrs.Tampered(commonName)),
            _ => PemEncoding.WriteString("CERTIFICATE", Der(Csrs.P256(commonName))),
        };

        var response = await PostAsync(client, "/.well-known/est/simpleenroll", content, Basic(token));

        var text = await TextErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains(expected, text, StringComparison.Ordinal);
        Assert.Equal(before, await CertificateCountAsync());
        await AssertTokenStillUsableAsync(token, "kept", kind);
    }

    [Fact]
    public async Task SimpleEnroll_ClientTokenOnServerLabel_Returns400NamingTheRightPathAndTokenStaysUsable()
    {
        var token = await _factory.CreateTokenAsync("mislabelled");
        var before = await CertificateCountAsync();
        using var client = _factory.CreateMtlsClient(null);

        var response = await PostAsync(client, "/.well-known/est/server/simpleenroll", Base64(Csrs.P256("mislabelled")), Basic(token));

        var text = await TextErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("for the 'client' profile", text, StringComparison.Ordinal);
        Assert.Contains("enroll at /.well-known/est/client/", text, StringComparison.Ordinal); // the path to use
        Assert.Equal(before, await CertificateCountAsync());
        await AssertTokenStillUsableAsync(token, "mislabelled", "label mismatch");
    }

    [Fact]
    public async Task SimpleEnroll_BodyOver64KiB_Returns413TextAndTokenStaysUsable()
    {
        var token = await _factory.CreateTokenAsync("oversized");
        var before = await CertificateCountAsync();
        using var client = _factory.CreateMtlsClient(null);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/.well-known/est/simpleenroll")
        {
            Content = new StringContent(new string('A', 65 * 1024), Encoding.ASCII, "application/pkcs10"),
        };
        request.Headers.Authorization = Basic(token);
        request.Headers.ExpectContinue = true;

        var response = await client.SendAsync(request);

        await TextErrorAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(before, await CertificateCountAsync());
        await AssertTokenStillUsableAsync(token, "oversized", "oversized body");
    }

    [Theory]
    [InlineData("GET", "/.well-known/est/ra/cacerts", HttpStatusCode.NotFound)]
    [InlineData("POST", "/.well-known/est/ra/simpleenroll", HttpStatusCode.NotFound)]
    [InlineData("GET", "/.well-known/est/fullcmc", HttpStatusCode.NotFound)]
    [InlineData("GET", "/.well-known/est/", HttpStatusCode.NotFound)]
    [InlineData("GET", "/.well-known/est/client/a/b", HttpStatusCode.NotFound)]
    [InlineData("GET", "/.well-known/est/simpleenroll", HttpStatusCode.MethodNotAllowed)]
    [InlineData("POST", "/.well-known/est/server/cacerts", HttpStatusCode.MethodNotAllowed)]
    public async Task UnknownLabelOrOperation_AnswersText(string method, string path, HttpStatusCode status)
    {
        using var client = _factory.CreateMtlsClient(null);

        var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        await TextErrorAsync(response, status);
    }

    [Fact]
    public async Task Est_OnPlainListener_Returns404()
    {
        using var client = _factory.CreateClient();

        var response = await client.GetAsync("/.well-known/est/cacerts");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("mTLS listener", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SimpleEnroll_PastTheEnrollmentRateLimit_Returns429AsText()
    {
        using var factory = new PkiApiFactory(mtlsListener: true, settings: new Dictionary<string, string?> { ["RateLimits:EnrollmentPerMinute"] = "1" });
        using var client = factory.CreateMtlsClient(null);
        await PostAsync(client, "/.well-known/est/simpleenroll", Base64(Csrs.P256("limited")), null);

        var response = await PostAsync(client, "/.well-known/est/simpleenroll", Base64(Csrs.P256("limited")), null);

        var text = await TextErrorAsync(response, HttpStatusCode.TooManyRequests);
        Assert.Contains("retry after", text, StringComparison.Ordinal);
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero);
    }

    public static TheoryData<string> ServerKeyKinds() => ["P-256", "P-384", "RSA-2048", "Ed25519"];

    [Theory]
    [MemberData(nameof(ServerKeyKinds))]
    public async Task ServerKeyGen_ReturnsNewKeyOfTheCsrKindAndItsCertificate(string kind)
    {
        var token = await _factory.CreateTokenAsync("constrained", ["spiffe://example.org/constrained"]);
        var csr = kind switch
        {
            "P-256" => Csrs.P256("constrained", "spiffe://example.org/constrained"),
            "P-384" => Csrs.Ecdsa("constrained", ECCurve.NamedCurves.nistP384, "spiffe://example.org/constrained"),
            "RSA-2048" => Csrs.Rsa("constrained", 2048),
            _ => Csrs.Ed25519("constrained"),
        };
        using var client = _factory.CreateMtlsClient(null);

        var response = await PostAsync(client, "/.well-known/est/serverkeygen", Base64(csr), Basic(token));

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        Assert.Equal("multipart/mixed", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.CacheControl?.NoStore);
        var boundary = response.Content.Headers.ContentType!.Parameters.Single(p => p.Name == "boundary").Value!;
        var reader = new MultipartReader(boundary, await response.Content.ReadAsStreamAsync());
        var keyPart = (await reader.ReadNextSectionAsync())!;
        Assert.Equal("application/pkcs8", keyPart.ContentType);
        Assert.Equal("base64", keyPart.Headers!["Content-Transfer-Encoding"].ToString());
        var pkcs8 = Convert.FromBase64String(await new StreamReader(keyPart.Body).ReadToEndAsync());
        var certificatePart = (await reader.ReadNextSectionAsync())!;
        Assert.Equal("application/pkcs7-mime; smime-type=certs-only", certificatePart.ContentType);
        Assert.Equal("base64", certificatePart.Headers!["Content-Transfer-Encoding"].ToString());
        var cms = new CmsSignedData(Convert.FromBase64String(await new StreamReader(certificatePart.Body).ReadToEndAsync()));
        Assert.Null(await reader.ReadNextSectionAsync());
        var certificate = Assert.Single(cms.GetCertificates().EnumerateMatches(null));
        Assert.Equal("CN=constrained", certificate.SubjectDN.ToString());
        // The key is new (not the CSR's), of the CSR's kind, and the certificate certifies it.
        var request = PkiService.Core.Issuance.CertificationRequest.FromPem(csr);
        Assert.False(request.HasSameKeyAs(certificate.CertificateStructure.SubjectPublicKeyInfo));
        var privateKey = PrivateKeyFactory.CreateKey(pkcs8);
        var signer = SignerUtilities.GetSigner(kind == "Ed25519" ? "Ed25519" : kind.StartsWith("RSA", StringComparison.Ordinal) ? "SHA256withRSA" : "SHA256withECDSA");
        signer.Init(true, privateKey);
        signer.BlockUpdate("proof"u8.ToArray());
        var signature = signer.GenerateSignature();
        signer.Init(false, certificate.GetPublicKey());
        signer.BlockUpdate("proof"u8.ToArray());
        Assert.True(signer.VerifySignature(signature));
        Assert.Equal(kind, KindOf(certificate.GetPublicKey()));
    }

    [Fact]
    public async Task SimpleReenroll_ActiveCertificate_IssuesNewOneAndSupersedesTheOld()
    {
        var (old, oldSerial) = await EnrollOverEstAsync("renewing", "spiffe://example.org/renewing");
        using var newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var client = _factory.CreateMtlsClient(old);

        var response = await PostAsync(client, "/.well-known/est/simplereenroll", Base64Csr(newKey, "renewing", "spiffe://example.org/renewing"), null);

        var renewed = Assert.Single(await IssuedAsync(response));
        Assert.Equal(newKey.ExportSubjectPublicKeyInfo(), renewed.PublicKey.ExportSubjectPublicKeyInfo());
        var oldRecord = await RecordAsync(oldSerial);
        Assert.Equal(CertificateStatus.Superseded, oldRecord.Status);
        Assert.Equal(SerialOf(renewed), oldRecord.SupersededBy, StringComparer.OrdinalIgnoreCase);
        var audit = await AuditAsync("certificate.renew", oldRecord.SupersededBy!);
        Assert.EndsWith(", via est", audit.Details, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("none", HttpStatusCode.Unauthorized)]
    [InlineData("foreign", HttpStatusCode.Unauthorized)]
    [InlineData("revoked", HttpStatusCode.Unauthorized)]
    [InlineData("superseded", HttpStatusCode.Unauthorized)]
    [InlineData("expired", HttpStatusCode.Unauthorized)]
    [InlineData("other name", HttpStatusCode.BadRequest)]
    [InlineData("same key", HttpStatusCode.BadRequest)]
    [InlineData("server label", HttpStatusCode.BadRequest)]
    public async Task SimpleReenroll_Refused_RightStatusTextAndNothingStored(string kind, HttpStatusCode status)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var (current, serial) = await EnrollOverEstAsync("reenroll-refused", "spiffe://example.org/reenroll-refused", key);
        X509Certificate2? presented = current;
        var csr = Base64Csr(ECDsa.Create(ECCurve.NamedCurves.nistP256), "reenroll-refused", "spiffe://example.org/reenroll-refused");
        var path = "/.well-known/est/simplereenroll";
        switch (kind)
        {
            case "none":
                presented = null;
                break;
            case "foreign":
                presented = ForeignCertificate("reenroll-refused");
                break;
            case "revoked":
                using (var admin = _factory.CreateAdminClient())
                {
                    Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/v1/certificates/{serial}/revoke", new { reason = "keyCompromise" })).StatusCode);
                }
                break;
            case "superseded":
                using (var first = _factory.CreateMtlsClient(current))
                {
                    Assert.Single(await IssuedAsync(await PostAsync(first, path, csr, null)));
                }
                csr = Base64Csr(ECDsa.Create(ECCurve.NamedCurves.nistP256), "reenroll-refused", "spiffe://example.org/reenroll-refused");
                break;
            case "expired":
                _clock.Advance(TimeSpan.FromDays(91));
                break;
            case "other name":
                csr = Base64Csr(ECDsa.Create(ECCurve.NamedCurves.nistP256), "someone-else", "spiffe://example.org/reenroll-refused");
                break;
            case "same key":
                csr = Base64Csr(key, "reenroll-refused", "spiffe://example.org/reenroll-refused");
                break;
            case "server label":
                path = "/.well-known/est/server/simplereenroll";
                break;
        }
        var before = await CertificateCountAsync();
        var statusBefore = (await RecordAsync(serial)).Status;
        using var client = _factory.CreateMtlsClient(presented);

        var response = await PostAsync(client, path, csr, null);

        await TextErrorAsync(response, status);
        Assert.Equal(before, await CertificateCountAsync());
        Assert.Equal(statusBefore, (await RecordAsync(serial)).Status);
    }

    /// <summary>Asserts a one-line text/plain error with <paramref name="status"/> (and the Basic challenge on 401); returns the text.</summary>
    private static async Task<string> TextErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("text/plain; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.False(string.IsNullOrWhiteSpace(body));
        Assert.Equal(body.TrimEnd('\n'), body.TrimEnd('\n').ReplaceLineEndings(" "));
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        if (status == HttpStatusCode.Unauthorized)
        {
            Assert.Equal(Challenge, response.Headers.WwwAuthenticate.ToString());
        }
        return body;
    }

    /// <summary>Asserts a base64 certs-only answer and returns its certificates.</summary>
    internal static async Task<List<X509Certificate2>> IssuedAsync(HttpResponseMessage response)
    {
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("application/pkcs7-mime; smime-type=certs-only", response.Content.Headers.ContentType?.ToString());
        return await CertsOnlyAsync(response);
    }

    internal static async Task<List<X509Certificate2>> CertsOnlyAsync(HttpResponseMessage response)
    {
        var cms = new CmsSignedData(await Base64BodyAsync(response));
        Assert.Empty(cms.GetSignerInfos().GetSigners());
        return cms.GetCertificates().EnumerateMatches(null).Select(c => X509CertificateLoader.LoadCertificate(c.GetEncoded())).ToList();
    }

    /// <summary>RFC 7030 as updated by RFC 8951: base64 in 64-character lines ended by LF, with Content-Transfer-Encoding: base64.</summary>
    private static async Task<byte[]> Base64BodyAsync(HttpResponseMessage response)
    {
        Assert.Equal("base64", string.Join(",", response.Content.Headers.TryGetValues("Content-Transfer-Encoding", out var values) ? values
            : response.Headers.TryGetValues("Content-Transfer-Encoding", out var others) ? others : []));
        var text = await response.Content.ReadAsStringAsync();
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        var lines = text.Split('\n')[..^1];
        Assert.All(lines.SkipLast(1), line => Assert.Equal(64, line.Length));
        return Convert.FromBase64String(text);
    }

    private async Task AssertTokenStillUsableAsync(string token, string commonName, string after)
    {
        using var client = _factory.CreateMtlsClient(null);
        var response = await PostAsync(client, "/.well-known/est/simpleenroll", Base64(Csrs.P256(commonName)), Basic(token));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"after {after}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>A header for an unusable token of the given kind (or none).</summary>
    private async Task<(AuthenticationHeaderValue? Header, string? Token)> UnusableTokenAsync(string kind, string commonName)
    {
        switch (kind)
        {
            case "none":
                return (null, null);
            case "wrong":
                return (Basic("pki_et_not-a-token"), null);
            case "malformed Basic":
                return (new AuthenticationHeaderValue("Basic", "not base64!"), null);
            case "used":
                var used = await _factory.CreateTokenAsync(commonName);
                Assert.Equal(HttpStatusCode.Created, (await _factory.EnrollAsync(used, Csrs.P256(commonName))).StatusCode);
                return (Basic(used), used);
            case "expired":
                var expiring = await _factory.CreateTokenAsync(commonName, ttl: "PT1H");
                _clock.Advance(TimeSpan.FromHours(2));
                return (Basic(expiring), expiring);
            default:
                using (var admin = _factory.CreateAdminClient())
                {
                    var created = await admin.PostAsJsonAsync("/api/v1/enrollment-tokens", new { commonName });
                    var body = (await created.Content.ReadFromJsonAsync<PkiApiFactory.TokenResponse>())!;
                    Assert.True((await admin.DeleteAsync($"/api/v1/enrollment-tokens/{body.Id}")).IsSuccessStatusCode);
                    return (Basic(body.Token), body.Token);
                }
        }
    }

    /// <summary>Enrolls over EST with a new (or the given) key; returns the certificate with its key, and its serial.</summary>
    private async Task<(X509Certificate2 Certificate, string Serial)> EnrollOverEstAsync(string commonName, string uriSan, ECDsa? key = null)
    {
        var token = await _factory.CreateTokenAsync(commonName, [uriSan]);
        using var ownKey = key is null ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : null;
        key ??= ownKey!;
        using var client = _factory.CreateMtlsClient(null);
        var certificate = Assert.Single(await IssuedAsync(await PostAsync(client, "/.well-known/est/simpleenroll", Base64Csr(key, commonName, uriSan), Basic(token))));
        return (certificate.CopyWithPrivateKey(key), SerialOf(certificate));
    }

    internal static async Task<HttpResponseMessage> PostAsync(
        HttpClient client, string path, string body, AuthenticationHeaderValue? authorization, bool transferEncodingHeader = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new ByteArrayContent(Encoding.Latin1.GetBytes(body)),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/pkcs10");
        if (transferEncodingHeader)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Transfer-Encoding", "base64");
        }
        request.Headers.Authorization = authorization;
        return await client.SendAsync(request);
    }

    internal static AuthenticationHeaderValue Basic(string token) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("any-user-name:" + token)));

    private static byte[] Der(string pem) => PemEncoding.TryFind(pem, out var fields)
        ? Convert.FromBase64String(pem[fields.Base64Data])
        : throw new ArgumentException("not PEM", nameof(pem));

    /// <summary>The base64 of the DER CSR in 64-character LF lines, as RFC 7030 clients send it.</summary>
    private static string Base64(string pem) => string.Concat(Convert.ToBase64String(Der(pem)).Chunk(64).Select(c => new string(c) + "\n"));

    internal static string Base64Csr(ECDsa key, string commonName, string uriSan)
    {
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var sans = new SubjectAlternativeNameBuilder();
        sans.AddUri(new Uri(uriSan));
        request.CertificateExtensions.Add(sans.Build());
        return Base64(request.CreateSigningRequestPem());
    }

    private static string DnsCsrBase64(ECDsa key, string dnsName)
    {
        var request = new CertificateRequest($"CN={dnsName}", key, HashAlgorithmName.SHA256);
        var sans = new SubjectAlternativeNameBuilder();
        sans.AddDnsName(dnsName);
        request.CertificateExtensions.Add(sans.Build());
        return Base64(request.CreateSigningRequestPem());
    }

    private static string KindOf(Org.BouncyCastle.Crypto.AsymmetricKeyParameter key) => key switch
    {
        Org.BouncyCastle.Crypto.Parameters.ECPublicKeyParameters ec => $"P-{ec.Parameters.Curve.FieldSize}",
        Org.BouncyCastle.Crypto.Parameters.RsaKeyParameters rsa => $"RSA-{rsa.Modulus.BitLength}",
        Org.BouncyCastle.Crypto.Parameters.Ed25519PublicKeyParameters => "Ed25519",
        _ => key.GetType().Name,
    };

    private static string SerialOf(X509Certificate2 certificate) =>
        PkiService.Core.Primitives.SerialNumber.FromUnsignedBytes(certificate.SerialNumberBytes.Span).Hex;

    private static List<string?> EkuOf(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value).ToList();

    /// <summary>A certificate with the same names from a CA of its own (self-signed), with its key.</summary>
    private static X509Certificate2 ForeignCertificate(string commonName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    private async Task<int> CertificateCountAsync()
    {
        await using var scope = _factory.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<PkiDbContext>().Certificates.CountAsync();
    }

    private async Task<CertificateRecord> RecordAsync(string serial)
    {
        await using var scope = _factory.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<PkiDbContext>().Certificates.AsNoTracking()
            .SingleAsync(c => c.SerialNumber == serial);
    }

    private async Task<AuditEventRecord> AuditAsync(string action, string target)
    {
        await using var scope = _factory.Services.CreateAsyncScope();
        var rows = await scope.ServiceProvider.GetRequiredService<PkiDbContext>().AuditEvents.AsNoTracking()
            .Where(a => a.Action == action && a.Outcome == "success").ToListAsync();
        return Assert.Single(rows, r => string.Equals(r.Target, target, StringComparison.OrdinalIgnoreCase));
    }
}
