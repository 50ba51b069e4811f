using System.Text;
using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Est;

/// <summary>
/// What EST refuses, sent with curl to the real service: the right status, a one-line text/plain reason (never a
/// stack trace), a Basic challenge on every 401, nothing stored, and the token still usable: after each refusal the
/// same token enrolls. The tests of the collection run one at a time, so the certificate count is this test's alone.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class EstCurlRefusalTests(ServiceProcess service) : IDisposable
{
    private const string Challenge = "Basic realm=\"PkiService EST\"";

    private EstCurlSession? _session;

    private EstCurlSession Session => _session ??= new EstCurlSession(service);

    public void Dispose() => _session?.Dispose();

    [SkippableTheory]
    [InlineData("simpleenroll")]
    [InlineData("serverkeygen")]
    public async Task Enroll_NoAuthorization_Returns401WithBasicChallenge(string operation)
    {
        var (est, name, token) = await PrepareAsync("est-noauth");
        var body = await BodyAsync(est, name, "device");
        var before = await est.Admin.CertificateCountAsync();

        var answer = await est.Curl.PostAsync(est.Curl.Url(operation), body);

        await AssertRefusedAsync(answer, 401, before, token);
        Assert.Contains("Basic", answer.Text); // the reason says how EST sends the token
        await AssertTokenEnrollsAsync(est, token, name, operation: operation);
    }

    [SkippableTheory]
    [InlineData("basic")]
    [InlineData("bearer")]
    public async Task SimpleEnroll_WrongToken_Returns401(string scheme)
    {
        var (est, name, token) = await PrepareAsync("est-wrong");
        var body = await BodyAsync(est, name, "device");
        var before = await est.Admin.CertificateCountAsync();
        var wrong = token.Secret[..^4] + (token.Secret.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");

        var answer = await est.Curl.PostAsync(est.Curl.Url("simpleenroll"), body, scheme == "basic" ? EstCurl.Basic(wrong) : EstCurl.Bearer(wrong));

        await AssertRefusedAsync(answer, 401, before, token);
        await AssertTokenEnrollsAsync(est, token, name);
    }

    [SkippableFact]
    public async Task SimpleEnroll_UsedToken_Returns401()
    {
        var (est, name, token) = await PrepareAsync("est-used");
        await AssertTokenEnrollsAsync(est, token, name);
        var body = await BodyAsync(est, name, "again");
        var before = await est.Admin.CertificateCountAsync();

        var answer = await est.Curl.PostAsync(est.Curl.Url("simpleenroll"), body, EstCurl.Basic(token.Secret));

        await AssertRefusedAsync(answer, 401, before, token: null);
        Assert.Equal("used", await est.Admin.TokenStatusAsync(token));
    }

    [SkippableFact]
    public async Task SimpleEnroll_ExpiredToken_Returns401()
    {
        var (est, name, _) = await PrepareAsync("est-expired");
        var token = await est.Admin.CreateTokenAsync(name, [EstCurlSession.SpiffeId(name)], ttl: "PT1S");
        var body = await BodyAsync(est, name, "device");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (await est.Admin.TokenStatusAsync(token) != "expired")
        {
            Assert.True(DateTime.UtcNow < deadline, "a token with ttl PT1S did not expire within 20 s");
            await Task.Delay(250);
        }
        var before = await est.Admin.CertificateCountAsync();

        var answer = await est.Curl.PostAsync(est.Curl.Url("simpleenroll"), body, EstCurl.Basic(token.Secret));

        await AssertRefusedAsync(answer, 401, before, token: null);
        Assert.Equal("expired", await est.Admin.TokenStatusAsync(token));
    }

    [SkippableFact]
    public async Task SimpleEnroll_RevokedToken_Returns401()
    {
        var (est, name, token) = await PrepareAsync("est-tokrev");
        await est.Admin.RevokeTokenAsync(token);
        var body = await BodyAsync(est, name, "device");
        var before = await est.Admin.CertificateCountAsync();

        var answer = await est.Curl.PostAsync(est.Curl.Url("simpleenroll"), body, EstCurl.Bearer(token.Secret));

        await AssertRefusedAsync(answer, 401, before, token: null);
        Assert.Equal("revoked", await est.Admin.TokenStatusAsync(token));
    }

    /// <summary>The REST enrollment name rules: the CN must be the token's, every SAN one the token allows.</summary>
    [SkippableTheory]
    [InlineData("simpleenroll", "cn")]
    [InlineData("simpleenroll", "san")]
    [InlineData("serverkeygen", "cn")]
    [InlineData("serverkeygen", "san")]
    public async Task Enroll_NamesOutsideToken_Returns400(string operation, string outside)
    {
        var (est, name, token) = await PrepareAsync("est-names");
        var (commonName, spiffeId) = outside == "cn"
            ? ("someone-else", EstCurlSession.SpiffeId(name))
            : (name, EstCurlSession.SpiffeId("someone-else"));
        var der = await est.NewCsrAsync("outside", commonName, spiffeId);
        var body = await EstCurl.WriteCsrBodyAsync(est.WorkingDirectory, "outside.b64", der, CurlCsrBody.Base64Lf);
        var before = await est.Admin.CertificateCountAsync();

        var answer = await est.Curl.PostAsync(est.Curl.Url(operation), body, EstCurl.Basic(token.Secret));

        await AssertRefusedAsync(answer, 400, before, token);
        Assert.Contains("someone-else", answer.Text);
        await AssertTokenEnrollsAsync(est, token, name, operation: operation);
    }

    /// <summary>RFC 8951 leniency stops at base64 and PEM of a PKCS#10: anything else is a 400 with a reason.</summary>
    [SkippableTheory]
    [InlineData("not base64")]
    [InlineData("base64 of junk")]
    [InlineData("empty")]
    [InlineData("certificate instead of csr")]
    [InlineData("bad csr signature")]
    [InlineData("raw der")]
    public async Task SimpleEnroll_JunkBody_Returns400(string junk)
    {
        var (est, name, token) = await PrepareAsync("est-junk");
        var der = await est.NewCsrAsync("junk", name);
        byte[] bytes = junk switch
        {
            "not base64" => Encoding.ASCII.GetBytes("this is not base64 at all: {\"csr\": \"...\"}\n"),
            "base64 of junk" => Encoding.ASCII.GetBytes(Convert.ToBase64String(Encoding.ASCII.GetBytes(new string('x', 300))) + "\n"),
            "empty" => [],
            "certificate instead of csr" => await File.ReadAllBytesAsync(est.File("ca.pem")),
            "bad csr signature" => Encoding.ASCII.GetBytes(Convert.ToBase64String(Tampered(der))),
            "raw der" => der,
            _ => throw new ArgumentOutOfRangeException(nameof(junk)),
        };
        await File.WriteAllBytesAsync(est.File("junk.body"), bytes);
        var before = await est.Admin.CertificateCountAsync();

        var answer = await est.Curl.PostAsync(est.Curl.Url("simpleenroll"), "junk.body", EstCurl.Basic(token.Secret));

        await AssertRefusedAsync(answer, 400, before, token);
        await AssertTokenEnrollsAsync(est, token, name);
    }

    [SkippableFact]
    public async Task SimpleEnroll_BodyOver64KiB_Returns413()
    {
        var (est, name, token) = await PrepareAsync("est-big");
        // A real CSR in 64-column lines, padded past the limit with blank lines (whitespace the decoder would skip).
        var der = await est.NewCsrAsync("big", name);
        var text = string.Concat(Convert.ToBase64String(der).Chunk(64).Select(c => new string(c) + "\n")) + new string('\n', 70 * 1024);
        await File.WriteAllTextAsync(est.File("big.body"), text);
        var before = await est.Admin.CertificateCountAsync();

        var answer = await est.Curl.PostAsync(est.Curl.Url("simpleenroll"), "big.body", EstCurl.Basic(token.Secret));

        await AssertRefusedAsync(answer, 413, before, token);
        await AssertTokenEnrollsAsync(est, token, name);
    }

    /// <summary>The token's profile must be the label's (no label = client); the reason names the path to use.</summary>
    [SkippableTheory]
    [InlineData("server", null, "/.well-known/est/server/")]
    [InlineData("client", "server", "/.well-known/est/client/")]
    public async Task SimpleEnroll_TokenOfAnotherProfile_Returns400NamingTheRightPath(string profile, string? label, string rightPath)
    {
        var (est, name, _) = await PrepareAsync("est-profile");
        var token = await est.Admin.CreateTokenAsync(name, [EstCurlSession.SpiffeId(name)], profile);
        var body = await BodyAsync(est, name, "device");
        var before = await est.Admin.CertificateCountAsync();

        var answer = await est.Curl.PostAsync(est.Curl.Url("simpleenroll", label), body, EstCurl.Basic(token.Secret));

        await AssertRefusedAsync(answer, 400, before, token);
        Assert.True(answer.Text.Contains(rightPath, StringComparison.Ordinal), $"the reason does not name {rightPath}: {answer}");
        await AssertTokenEnrollsAsync(est, token, name, label: profile == "client" ? null : profile);
    }

    [SkippableTheory]
    [InlineData("GET", "admin/cacerts")]
    [InlineData("GET", "ca/cacerts")]
    [InlineData("POST", "simpleenrol")]
    [InlineData("POST", "fullcmc")]
    [InlineData("POST", "server/enroll")]
    public async Task UnknownLabelOrOperation_Returns404(string method, string path)
    {
        var (est, name, token) = await PrepareAsync("est-404");
        var body = await BodyAsync(est, name, "device");
        var before = await est.Admin.CertificateCountAsync();
        var url = new Uri(est.Curl.EstBase, path);

        var answer = method == "GET" ? await est.Curl.GetAsync(url) : await est.Curl.PostAsync(url, body, EstCurl.Basic(token.Secret));

        await AssertRefusedAsync(answer, 404, before, token);
        await AssertTokenEnrollsAsync(est, token, name);
    }

    /// <summary>EST is served only on the TLS listener (RFC 7030 3.2.2: TLS is mandatory); the plain listener says 404.</summary>
    [SkippableTheory]
    [InlineData("GET", "cacerts")]
    [InlineData("GET", "csrattrs")]
    [InlineData("POST", "simpleenroll")]
    [InlineData("POST", "server/simpleenroll")]
    [InlineData("POST", "serverkeygen")]
    [InlineData("POST", "simplereenroll")]
    public async Task OnPlainHttpListener_Returns404(string method, string path)
    {
        var (est, name, token) = await PrepareAsync("est-plain");
        var body = await BodyAsync(est, name, "device");
        var before = await est.Admin.CertificateCountAsync();
        var url = new Uri(service.BaseAddress, $".well-known/est/{path}");

        var answer = method == "GET" ? await est.Curl.GetAsync(url) : await est.Curl.PostAsync(url, body, EstCurl.Basic(token.Secret));

        // The plain listener answers as it does for /api/v1/renew (the wire contract: "like /api/v1/renew"): its
        // problem+json, whose title names the TLS listener to use. An EST client shows that text as it is.
        Assert.True(answer.Status == 404, answer.ToString());
        Assert.True(answer.ContentType.StartsWith("application/problem+json", StringComparison.Ordinal)
            || answer.ContentType.StartsWith("text/plain", StringComparison.Ordinal), answer.ToString());
        Assert.Contains(service.MtlsAddress.Authority, answer.Text);
        Assert.DoesNotContain("Exception", answer.Text);
        Assert.Equal(before, await est.Admin.CertificateCountAsync());
        Assert.Equal("unused", await est.Admin.TokenStatusAsync(token));
        await AssertTokenEnrollsAsync(est, token, name);
    }

    [SkippableFact]
    public async Task SimpleReenroll_NoClientCertificate_Returns401WithBasicChallenge()
    {
        var (est, name, _) = await PrepareAsync("est-re-anon");
        var serial = await est.EnrollAsync(name, "old");
        var body = await BodyAsync(est, name, "new");
        var before = await est.Admin.CertificateCountAsync();

        var answer = await est.Curl.PostAsync(est.Curl.Url("simplereenroll"), body);

        await AssertRefusedAsync(answer, 401, before, token: null);
        Assert.Equal("active", await service.Api.GetStatusAsync(serial));
    }

    [SkippableTheory]
    [InlineData("cn")]
    [InlineData("san")]
    public async Task SimpleReenroll_OtherNames_Returns400AndKeepsCertificateActive(string changed)
    {
        var (est, name, _) = await PrepareAsync("est-re-names");
        var serial = await est.EnrollAsync(name, "old");
        var der = changed == "cn"
            ? await est.NewCsrAsync("new", "someone-else", EstCurlSession.SpiffeId(name))
            : await est.NewCsrAsync("new", name, EstCurlSession.SpiffeId("someone-else"));
        var body = await EstCurl.WriteCsrBodyAsync(est.WorkingDirectory, "new.b64", der, CurlCsrBody.Base64OneLine);
        var before = await est.Admin.CertificateCountAsync();

        var answer = await est.Curl.PostAsync(est.Curl.Url("simplereenroll"), body, EstCurl.ClientCertificate("old.pem", "old.key"));

        await AssertRefusedAsync(answer, 400, before, token: null);
        Assert.Contains("someone-else", answer.Text);
        Assert.Equal("active", await service.Api.GetStatusAsync(serial));
        await AssertReenrollsAsync(est, name, serial);
    }

    [SkippableFact]
    public async Task SimpleReenroll_SameKey_Returns400AndKeepsCertificateActive()
    {
        var (est, name, _) = await PrepareAsync("est-re-samekey");
        var serial = await est.EnrollAsync(name, "old");
        var der = await est.CsrForKeyAsync("same", "old.key", name, EstCurlSession.SpiffeId(name));
        var body = await EstCurl.WriteCsrBodyAsync(est.WorkingDirectory, "same.b64", der, CurlCsrBody.Base64OneLine);
        var before = await est.Admin.CertificateCountAsync();

        var answer = await est.Curl.PostAsync(est.Curl.Url("simplereenroll"), body, EstCurl.ClientCertificate("old.pem", "old.key"));

        await AssertRefusedAsync(answer, 400, before, token: null);
        Assert.Contains("new key", answer.Text);
        Assert.Equal("active", await service.Api.GetStatusAsync(serial));
        await AssertReenrollsAsync(est, name, serial);
    }

    [SkippableFact]
    public async Task SimpleReenroll_RevokedCertificate_Returns401()
    {
        var (est, name, _) = await PrepareAsync("est-re-revoked");
        var serial = await est.EnrollAsync(name, "old");
        await service.Api.RevokeAsync(serial);
        var body = await BodyAsync(est, name, "new");
        var before = await est.Admin.CertificateCountAsync();

        var answer = await est.Curl.PostAsync(est.Curl.Url("simplereenroll"), body, EstCurl.ClientCertificate("old.pem", "old.key"));

        await AssertRefusedAsync(answer, 401, before, token: null);
        Assert.Contains("revoked", answer.Text);
        Assert.Equal("revoked", await service.Api.GetStatusAsync(serial));
    }

    [SkippableFact]
    public async Task SimpleReenroll_SupersededCertificate_Returns401()
    {
        var (est, name, _) = await PrepareAsync("est-re-twice");
        var serial = await est.EnrollAsync(name, "old");
        var body = await BodyAsync(est, name, "new");
        var first = await est.Curl.PostAsync(est.Curl.Url("simplereenroll"), body, EstCurl.ClientCertificate("old.pem", "old.key"));
        Assert.True(first.Status == 200, first.ToString());
        Assert.Equal("superseded", await service.Api.GetStatusAsync(serial));
        var again = await BodyAsync(est, name, "again");
        var before = await est.Admin.CertificateCountAsync();

        var answer = await est.Curl.PostAsync(est.Curl.Url("simplereenroll"), again, EstCurl.ClientCertificate("old.pem", "old.key"));

        await AssertRefusedAsync(answer, 401, before, token: null);
        Assert.Equal("superseded", await service.Api.GetStatusAsync(serial));
    }

    [SkippableFact]
    public async Task SimpleReenroll_ForeignCertificate_Returns401()
    {
        var (est, name, _) = await PrepareAsync("est-re-foreign");
        // Our names, but self-signed by openssl: not from our issuing CA.
        (await est.Openssl.RunAsync("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "foreign.key", "-out", "foreign.pem", "-days", "1", "-subj", $"/CN={name}",
            "-addext", $"subjectAltName=URI:{EstCurlSession.SpiffeId(name)}")).EnsureSuccess();
        var body = await BodyAsync(est, name, "new");
        var before = await est.Admin.CertificateCountAsync();

        var answer = await est.Curl.PostAsync(est.Curl.Url("simplereenroll"), body, EstCurl.ClientCertificate("foreign.pem", "foreign.key"));

        await AssertRefusedAsync(answer, 401, before, token: null);
    }

    /// <summary>A client certificate re-enrolls under its own profile's label only.</summary>
    [SkippableFact]
    public async Task SimpleReenroll_ClientCertificateOnServerLabel_Returns400AndKeepsCertificateActive()
    {
        var (est, name, _) = await PrepareAsync("est-re-label");
        var serial = await est.EnrollAsync(name, "old");
        var body = await BodyAsync(est, name, "new");
        var before = await est.Admin.CertificateCountAsync();

        var answer = await est.Curl.PostAsync(est.Curl.Url("simplereenroll", "server"), body, EstCurl.ClientCertificate("old.pem", "old.key"));

        await AssertRefusedAsync(answer, 400, before, token: null);
        Assert.Equal("active", await service.Api.GetStatusAsync(serial));
        await AssertReenrollsAsync(est, name, serial);
    }

    /// <summary>A session with the CA files and a fresh client token for a unique name.</summary>
    private async Task<(EstCurlSession Est, string Name, EstCurlAdmin.Token Token)> PrepareAsync(string prefix)
    {
        var est = Session;
        await est.WriteCaFilesAsync();
        var name = EstCurlSession.UniqueName(prefix);
        var token = await est.Admin.CreateTokenAsync(name, [EstCurlSession.SpiffeId(name)]);
        return (est, name, token);
    }

    /// <summary>A new key <c>&lt;file&gt;.key</c> and a CSR for the name as an EST body (64-column base64); returns the body file.</summary>
    private static async Task<string> BodyAsync(EstCurlSession est, string name, string file)
    {
        var der = await est.NewCsrAsync(file, name);
        return await EstCurl.WriteCsrBodyAsync(est.WorkingDirectory, $"{file}.b64", der, CurlCsrBody.Base64Lf);
    }

    /// <summary>The refusal as the wire contract has it, and nothing changed: no certificate stored, the token unused.</summary>
    private async Task AssertRefusedAsync(EstCurlAnswer answer, int status, int certificatesBefore, EstCurlAdmin.Token? token)
    {
        Assert.True(answer.Status == status, answer.ToString());
        AssertReadableReason(answer);
        if (status == 401)
        {
            Assert.Equal(Challenge, answer.Header("WWW-Authenticate"));
        }
        Assert.Equal(certificatesBefore, await Session.Admin.CertificateCountAsync());
        if (token is not null)
        {
            Assert.Equal("unused", await Session.Admin.TokenStatusAsync(token));
        }
    }

    /// <summary>text/plain, one line that says something, no stack trace.</summary>
    private static void AssertReadableReason(EstCurlAnswer answer)
    {
        Assert.True(answer.ContentType.StartsWith("text/plain", StringComparison.OrdinalIgnoreCase), answer.ToString());
        var reason = answer.Text.Trim();
        Assert.True(reason.Length >= 10, answer.ToString());
        Assert.DoesNotContain('\n', reason);
        Assert.DoesNotContain("Exception", reason);
        Assert.DoesNotContain(" at PkiService", reason);
    }

    /// <summary>The token enrolls now (a new key and CSR for its name): the refusal left it usable.</summary>
    private static async Task AssertTokenEnrollsAsync(EstCurlSession est, EstCurlAdmin.Token token, string name, string? label = null, string operation = "simpleenroll")
    {
        var body = await BodyAsync(est, name, "retry");
        var answer = await est.Curl.PostAsync(est.Curl.Url(operation, label), body, EstCurl.Basic(token.Secret));
        Assert.True(answer.Status == 200, $"the token no longer enrolls after the refusal: {answer}");
        Assert.Equal("used", await est.Admin.TokenStatusAsync(token));
    }

    /// <summary>The certificate re-enrolls now with a proper CSR: the refusal left it usable.</summary>
    private static async Task AssertReenrollsAsync(EstCurlSession est, string name, string serial)
    {
        var body = await BodyAsync(est, name, "proper");
        var answer = await est.Curl.PostAsync(est.Curl.Url("simplereenroll"), body, EstCurl.ClientCertificate("old.pem", "old.key"));
        Assert.True(answer.Status == 200, $"the certificate no longer re-enrolls after the refusal: {answer}");
        Assert.Equal("superseded", await est.Service.Api.GetStatusAsync(serial));
    }

    /// <summary>The DER CSR with one byte of its signature (the last byte of the structure) flipped.</summary>
    private static byte[] Tampered(byte[] der)
    {
        var copy = (byte[])der.Clone();
        copy[^1] ^= 0x01;
        return copy;
    }
}
