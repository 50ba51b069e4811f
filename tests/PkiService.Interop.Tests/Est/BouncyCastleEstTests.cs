using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using PkiService.Interop.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PkiService.Interop.Tests.Est;

/// <summary>
/// An EST client nobody here wrote, Bouncy Castle Java's <c>org.bouncycastle.est</c> (<see cref="BouncyCastleEstClient"/>),
/// against the real service process on its TLS listener (<c>Pki:MtlsUrl</c>): cacerts with the pinned root as its
/// only trust anchor (and bootstrap), simpleenroll with HTTP Basic (BC answers the 401 challenge with a one-time
/// token as the password), simplereenroll authenticated by the TLS client certificate from JSSE, csrattrs and
/// serverkeygen. What BC gets is checked with openssl (chain, key match), in an mTLS handshake with openssl s_server,
/// and against the service's own records (status, supersession, audit <c>via est</c>).
/// <para>
/// BC 1.72's HttpAuth closes the challenge 401 without reading its body, and its response stream refuses to close
/// unread when the answer had a <c>Content-Length</c> above 1 (BC then reports "Stream closed before limit fully
/// read", HTTP status 0). The service's text errors are written without a length (chunked), which BC accepts; the
/// enroll tests here fail if a challenge 401 ever carries a <c>Content-Length</c> body.
/// </para>
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class BouncyCastleEstTests(ServiceProcess service, BouncyCastleEstClient bc, ITestOutputHelper output)
    : IClassFixture<BouncyCastleEstClient>, IDisposable
{
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    private readonly TempDirectory _work = new("pki-bc-est-work-");
    private BackgroundProcess? _tlsServer;

    public void Dispose()
    {
        _tlsServer?.Dispose();
        _work.Dispose();
    }

    [SkippableFact]
    public async Task CaCerts_PinnedRootAsOnlyTrustAnchor_ReturnsIssuingCaAndRoot()
    {
        await PrepareAsync();

        var answer = await Bc("cacerts", ("trust", _work.File("root.pem")), ("out", _work.Path));

        Assert.True(answer.Succeeded, answer.ToString());
        Assert.Equal("true", answer.Value("TRUSTED"));
        var received = answer.Values("CACERT").Select(line => Fingerprint(line)).ToHashSet();
        Assert.Equal(new HashSet<string> { PemFingerprint("root.pem"), PemFingerprint("ca.pem") }, received);
        Assert.Equal("0", answer.Value("CRLS")); // certs-only: no CRLs
    }

    /// <summary>
    /// RFC 7030 4.1.1 bootstrap: a client without the trust anchor accepts any server for cacerts, gets an answer BC
    /// marks untrusted, and must check it out of band; here, that the root in it is the one the service publishes.
    /// </summary>
    [SkippableFact]
    public async Task CaCerts_Bootstrap_UntrustedAnswerHoldsThePublishedRoot()
    {
        await PrepareAsync();

        var answer = await Bc("cacerts", ("bootstrap", null), ("out", _work.Path));

        Assert.True(answer.Succeeded, answer.ToString());
        Assert.Equal("false", answer.Value("TRUSTED"));
        Assert.Contains(PemFingerprint("root.pem"), answer.Values("CACERT").Select(line => Fingerprint(line)));
        Assert.Equal(2, answer.Values("CACERT").Count);
    }

    [SkippableFact]
    public async Task CsrAttrs_AsksForEcdsaWithSha256OnP256()
    {
        await PrepareAsync();

        var answer = await Bc("csrattrs", ("trust", _work.File("root.pem")));

        Assert.True(answer.Succeeded, answer.ToString());
        Assert.Equal("empty=false", answer.Value("CSRATTRS"));
        // RFC 7030 4.5.2: an OID alone (the signature algorithm) and an attribute (the key type with its curve).
        Assert.Equal("1.2.840.10045.4.3.2", answer.Value("OID"));
        Assert.Equal("1.2.840.10045.2.1 1.2.840.10045.3.1.7", answer.Value("ATTRIBUTE"));
        Assert.Contains("1.2.840.10045.4.3.2 attribute=false", answer.Values("REQUIREMENT"));
        Assert.Contains("1.2.840.10045.2.1 attribute=true", answer.Values("REQUIREMENT"));
    }

    /// <summary>
    /// The whole life of a device: enroll with a one-time token (HTTP Basic), then re-enroll with a new key,
    /// authenticated only by the certificate just received; the predecessor is superseded, both are audited as EST,
    /// and the final certificate completes an mTLS handshake with openssl s_server, which requires a client certificate.
    /// </summary>
    [SkippableTheory]
    [InlineData("ec")]
    [InlineData("rsa")]
    public async Task SimpleEnrollThenReenroll_BasicTokenThenClientCertificate_CertificatesVerifyAndWorkForMtls(string keyType)
    {
        var openssl = await PrepareAsync();
        var name = UniqueName($"bc-{keyType}");
        var token = await service.Api.CreateEnrollmentTokenAsync(name, [SpiffeId(name)]);

        var enrolled = await Bc("enroll", ("trust", _work.File("root.pem")), ("token", token),
            ("user", "any-device-name"), ("cn", name), ("san", $"URI:{SpiffeId(name)}"), ("key-type", keyType), ("out", _work.Path), ("name", "first"));

        Assert.True(enrolled.Succeeded, enrolled.ToString());
        Assert.Equal("1", enrolled.Value("CERTIFICATES")); // certs-only with only the new certificate
        var first = await AssertIssuedAsync(openssl, "first", name, keyType, ClientAuthOid);
        Assert.Equal(first, enrolled.Value("SERIAL"));
        Assert.Equal("active", await service.Api.GetStatusAsync(first));
        await AssertAuditedAsync("certificate.issue", first);

        var reenrolled = await Bc("reenroll", ("trust", _work.File("root.pem")),
            ("cert", _work.File("first.pem")), ("cert-key", _work.File("first.key")), ("chain", _work.File("ca.pem")),
            ("key-type", keyType), ("out", _work.Path), ("name", "second"));

        Assert.True(reenrolled.Succeeded, reenrolled.ToString());
        var second = await AssertIssuedAsync(openssl, "second", name, keyType, ClientAuthOid);
        Assert.NotEqual(first, second);
        Assert.NotEqual(await PublicKeyAsync(openssl, "first.pem"), await PublicKeyAsync(openssl, "second.pem"));
        Assert.Equal("superseded", await service.Api.GetStatusAsync(first));
        Assert.Equal("active", await service.Api.GetStatusAsync(second));
        await AssertAuditedAsync("certificate.renew", second);

        await AssertMutualTlsHandshakeAsync(openssl, "second");
    }

    /// <summary>The <c>server</c> label with a server-profile token: the certificate is for TLS servers.</summary>
    [SkippableFact]
    public async Task SimpleEnroll_ServerLabel_IssuesServerCertificate()
    {
        var openssl = await PrepareAsync();
        var name = UniqueName("bc-server");
        var token = await service.Api.CreateEnrollmentTokenAsync(name, [SpiffeId(name)], profile: "server");

        var enrolled = await Bc("enroll", ("label", "server"), ("trust", _work.File("root.pem")), ("token", token),
            ("cn", name), ("san", $"URI:{SpiffeId(name)}"), ("out", _work.Path), ("name", "server"));

        Assert.True(enrolled.Succeeded, enrolled.ToString());
        var serial = await AssertIssuedAsync(openssl, "server", name, "ec", ServerAuthOid);
        Assert.Equal("active", await service.Api.GetStatusAsync(serial));
        await AssertAuditedAsync("certificate.issue", serial);
    }

    /// <summary>RFC 7030 4.4: the server makes the key; BC parses the multipart answer into the key and the certificate.</summary>
    [SkippableTheory]
    [InlineData("ec", "1.2.840.10045.2.1")]
    [InlineData("rsa", "1.2.840.113549.1.1.1")]
    public async Task ServerKeyGen_BasicToken_ServerMadeKeyMatchesItsCertificate(string keyType, string keyAlgorithmOid)
    {
        var openssl = await PrepareAsync();
        var name = UniqueName($"bc-skg-{keyType}");
        var token = await service.Api.CreateEnrollmentTokenAsync(name, [SpiffeId(name)]);

        var answer = await Bc("serverkeygen", ("trust", _work.File("root.pem")), ("token", token),
            ("cn", name), ("san", $"URI:{SpiffeId(name)}"), ("key-type", keyType), ("out", _work.Path), ("name", "made"));

        Assert.True(answer.Succeeded, answer.ToString());
        Assert.Equal(keyAlgorithmOid, answer.Value("SERVER-KEY"));
        var serial = await AssertIssuedAsync(openssl, "made", name, keyType, ClientAuthOid);
        Assert.Equal("active", await service.Api.GetStatusAsync(serial));
        await AssertAuditedAsync("certificate.issue", serial);
        await AssertMutualTlsHandshakeAsync(openssl, "made");
    }

    /// <summary>A one-time token works once: BC's second enrollment with it gets 401 after answering the challenge.</summary>
    [SkippableFact]
    public async Task SimpleEnroll_UsedToken_BcReports401AndNothingMoreIsIssued()
    {
        var openssl = await PrepareAsync();
        var name = UniqueName("bc-once");
        var token = await service.Api.CreateEnrollmentTokenAsync(name, [SpiffeId(name)]);
        var first = await Bc("enroll", ("trust", _work.File("root.pem")), ("token", token),
            ("cn", name), ("san", $"URI:{SpiffeId(name)}"), ("out", _work.Path), ("name", "first"));
        Assert.True(first.Succeeded, first.ToString());
        await AssertIssuedAsync(openssl, "first", name, "ec", ClientAuthOid);

        var again = await Bc("enroll", ("trust", _work.File("root.pem")), ("token", token),
            ("cn", name), ("san", $"URI:{SpiffeId(name)}"), ("out", _work.Path), ("name", "again"));

        Assert.True(again.Command.ExitCode == BouncyCastleEstResult.Refused && again.RefusalStatus == 401, again.ToString());
        Assert.False(File.Exists(_work.File("again.pem")));
        Assert.Equal(1, await CountCertificatesAsync(name));
    }

    /// <summary>After re-enrolling, the old certificate no longer authenticates simplereenroll.</summary>
    [SkippableFact]
    public async Task Reenroll_SupersededCertificate_BcReports401()
    {
        var openssl = await PrepareAsync();
        var name = UniqueName("bc-stale");
        var token = await service.Api.CreateEnrollmentTokenAsync(name, [SpiffeId(name)]);
        var enrolled = await Bc("enroll", ("trust", _work.File("root.pem")), ("token", token),
            ("cn", name), ("san", $"URI:{SpiffeId(name)}"), ("out", _work.Path), ("name", "first"));
        Assert.True(enrolled.Succeeded, enrolled.ToString());
        var first = await AssertIssuedAsync(openssl, "first", name, "ec", ClientAuthOid);
        var renewed = await Bc("reenroll", ("trust", _work.File("root.pem")),
            ("cert", _work.File("first.pem")), ("cert-key", _work.File("first.key")), ("out", _work.Path), ("name", "second"));
        Assert.True(renewed.Succeeded, renewed.ToString());

        var stale = await Bc("reenroll", ("trust", _work.File("root.pem")),
            ("cert", _work.File("first.pem")), ("cert-key", _work.File("first.key")), ("out", _work.Path), ("name", "third"));

        Assert.True(stale.Command.ExitCode == BouncyCastleEstResult.Refused && stale.RefusalStatus == 401, stale.ToString());
        Assert.False(File.Exists(_work.File("third.pem")));
        Assert.Equal("superseded", await service.Api.GetStatusAsync(first));
        Assert.Equal(2, await CountCertificatesAsync(name));
    }

    /// <summary>Builds the client (skips or fails without Java) and writes root.pem, ca.pem and chain.pem from /pki.</summary>
    private async Task<Openssl> PrepareAsync()
    {
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        await bc.EnsureBuiltAsync();
        await ServiceCertificates.WriteCaFilesAsync(service.Api, _work.Path);
        return openssl;
    }

    /// <summary>
    /// Runs one BC operation against the service's TLS listener: <c>--server host:port</c> (BC adds https:// and
    /// /.well-known/est[/label] itself), then <paramref name="options"/>.
    /// </summary>
    private async Task<BouncyCastleEstResult> Bc(string operation, params (string Name, string? Value)[] options)
    {
        var result = await bc.RunAsync(operation, [("server", service.MtlsAddress.Authority), .. options]);
        output.WriteLine(result.ToString()); // what BC printed, for the record
        return result;
    }

    /// <summary>
    /// Checks <c>&lt;file&gt;.pem</c> as openssl sees it: it chains to the root through the issuing CA, certifies the
    /// key in <c>&lt;file&gt;.key</c> (of the expected type), names CN and SAN as the token said, and has the EKU of
    /// its profile. Returns the serial in the service's form.
    /// </summary>
    private async Task<string> AssertIssuedAsync(Openssl openssl, string file, string name, string keyType, string extendedKeyUsage)
    {
        var verify = await openssl.RunAsync("verify", "-CAfile", "root.pem", "-untrusted", "ca.pem", $"{file}.pem");
        Assert.True(verify.ExitCode == 0 && verify.StandardOutput.Contains($"{file}.pem: OK"), verify.ToString());
        Assert.Equal(
            (await openssl.RunAsync("pkey", "-in", $"{file}.key", "-pubout")).EnsureSuccess().StandardOutput,
            await PublicKeyAsync(openssl, $"{file}.pem"));

        using var certificate = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(_work.File($"{file}.pem")));
        Assert.Equal($"CN={name}", certificate.Subject);
        Assert.Equal(keyType == "rsa" ? "1.2.840.113549.1.1.1" : "1.2.840.10045.2.1", certificate.PublicKey.Oid.Value);
        Assert.Equal($"URI:{SpiffeId(name)}", Openssl.Extensions(await openssl.TextAsync($"{file}.pem"))["X509v3 Subject Alternative Name"].Value);
        var usages = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages;
        Assert.Equal([extendedKeyUsage], usages.Cast<Oid>().Select(oid => oid.Value));
        return certificate.SerialNumber;
    }

    /// <summary>
    /// openssl s_server with a service-issued server certificate, requiring a client certificate that verifies against
    /// the CA chain (<c>-Verify 1 -verify_return_error</c>); curl presents <c>&lt;file&gt;.pem/.key</c>. The status page
    /// s_server returns prints the client certificate it verified: it must be this one.
    /// </summary>
    private async Task AssertMutualTlsHandshakeAsync(Openssl openssl, string file)
    {
        await ServiceCertificates.IssueLocalhostServerAsync(service.Api, openssl, "tls-server");
        var port = await StartOpensslServerAsync(openssl);
        File.Delete(_work.File("page.html"));

        var curl = await ExternalCommand.RunAsync(RequiredTool.Curl(),
        [
            "--silent", "--show-error", "--max-time", "20", "--cacert", "chain.pem",
            "--cert", $"{file}.pem", "--key", $"{file}.key", "--resolve", $"localhost:{port}:127.0.0.1",
            "--output", "page.html", "--write-out", "%{http_code}", $"https://localhost:{port}/",
        ], _work.Path);

        Assert.True(curl.ExitCode == 0 && curl.StandardOutput.Trim() == "200", $"{curl}\n{_tlsServer!.Describe()}");
        var page = await File.ReadAllTextAsync(_work.File("page.html"));
        using var certificate = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(_work.File($"{file}.pem")));
        var presented = Convert.ToBase64String(certificate.RawData);
        Assert.True(page.Contains("Client certificate") && string.Concat(page.Where(c => !char.IsWhiteSpace(c))).Contains(presented),
            $"s_server did not see {file}.pem:\n{page}");
    }

    private async Task<int> StartOpensslServerAsync(Openssl openssl)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = Network.FreeLoopbackPort();
            _tlsServer?.Dispose();
            _tlsServer = BackgroundProcess.Start(RequiredTool.Openssl(),
            [
                "s_server", "-Verify", "1", "-verify_return_error", "-CAfile", "chain.pem",
                "-cert", "tls-server.pem", "-key", "tls-server.key", "-accept", $"127.0.0.1:{port}", "-www",
            ], openssl.WorkingDirectory);
            if (await Wait.UntilAsync(() => _tlsServer.Output.Contains("ACCEPT") || _tlsServer.HasExited, TimeSpan.FromSeconds(20))
                && !_tlsServer.HasExited)
            {
                return port;
            }
            if (attempt == 3)
            {
                throw new InvalidOperationException($"openssl s_server did not start:\n{_tlsServer.Describe()}");
            }
        }
    }

    /// <summary>The service audited the operation for <paramref name="serial"/> as EST (WIRE13: details end with ", via est").</summary>
    private async Task AssertAuditedAsync(string action, string serial)
    {
        var page = await service.Api.GetAdminJsonAsync($"api/v1/audit?action={action}&pageSize=100");
        var rows = page.GetProperty("items").EnumerateArray()
            .Where(row => string.Equals(row.GetProperty("target").GetString(), serial, StringComparison.OrdinalIgnoreCase))
            .ToList();
        Assert.True(rows.Count == 1, $"expected one {action} audit row for {serial}:\n{page}");
        Assert.Equal("success", rows[0].GetProperty("outcome").GetString());
        Assert.EndsWith(", via est", rows[0].GetProperty("details").GetString());
    }

    /// <summary>How many certificates for CN=<paramref name="name"/> the service lists (among the newest 200).</summary>
    private async Task<int> CountCertificatesAsync(string name)
    {
        var page = await service.Api.GetAdminJsonAsync("api/v1/certificates?pageSize=200");
        return page.GetProperty("items").EnumerateArray().Count(item => item.GetProperty("subject").GetString() == $"CN={name}");
    }

    private static async Task<string> PublicKeyAsync(Openssl openssl, string certificateFile) =>
        (await openssl.RunAsync("x509", "-in", certificateFile, "-noout", "-pubkey")).EnsureSuccess().StandardOutput;

    /// <summary>The sha256= field of a CACERT line.</summary>
    private static string Fingerprint(string cacertLine) =>
        cacertLine.Split(' ').Single(part => part.StartsWith("sha256=", StringComparison.Ordinal))["sha256=".Length..];

    private string PemFingerprint(string file)
    {
        using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(_work.File(file)));
        return Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));
    }

    private static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    private static string SpiffeId(string name) => $"spiffe://example.org/{name}";
}
