using System.Text;
using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Est;

/// <summary>
/// EST (RFC 7030, RFC 8951) on the real service's TLS listener, driven by curl and checked by openssl: every operation,
/// both labels and no label, every body form RFC 8951 asks servers to accept, Basic and Bearer. What comes back is
/// decoded the way a person at a shell would (<c>openssl base64 -d | openssl pkcs7 -print_certs</c>) and must verify
/// against the root, and the certificates are ordinary ones: listed, revocable, in OCSP, audited as <c>via est</c>.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class EstCurlTests(ServiceProcess service) : IDisposable
{
    private EstCurlSession? _session;

    private EstCurlSession Session => _session ??= new EstCurlSession(service);

    public void Dispose() => _session?.Dispose();

    [SkippableTheory]
    [InlineData(null)]
    [InlineData("client")]
    [InlineData("server")]
    public async Task CaCerts_Label_OpensslPrintsIssuingCaAndRoot(string? label)
    {
        var est = Session;
        await est.WriteCaFilesAsync();

        var answer = await est.Curl.GetAsync(est.Curl.Url("cacerts", label));

        Assert.True(answer.Status == 200, answer.ToString());
        Assert.StartsWith("application/pkcs7-mime", answer.ContentType);
        Assert.Equal("base64", answer.Header("Content-Transfer-Encoding"));
        EstCurlSession.AssertBase64Lines(answer);
        Assert.Equal(2, await est.CertificatesAsync(answer, "cacerts.pem"));
        // The two are exactly the issuing CA and the root the service publishes as PEM.
        var fingerprints = await FingerprintsAsync("cacerts.pem");
        Assert.Equal(
            new[] { await FingerprintAsync("ca.pem"), await FingerprintAsync("root.pem") }.Order(),
            fingerprints.Order());
    }

    /// <summary>The pipe the README shows, run as written: curl | openssl base64 -d | openssl pkcs7 -print_certs.</summary>
    [SkippableFact]
    public async Task CaCerts_ShellPipe_PrintsBothCertificates()
    {
        var est = Session;
        await est.WriteCaFilesAsync();

        var result = await ExternalCommand.RunAsync("bash",
        [
            "-c",
            $"set -o pipefail; curl -s --cacert root.pem {est.Curl.Url("cacerts")} | openssl base64 -d | openssl pkcs7 -inform DER -print_certs",
        ], est.WorkingDirectory);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(2, result.StandardOutput.Split("-----BEGIN CERTIFICATE-----").Length - 1);
        var root = (await est.Openssl.RunAsync("x509", "-in", "root.pem", "-noout", "-subject")).EnsureSuccess().StandardOutput.Trim();
        var issuing = (await est.Openssl.RunAsync("x509", "-in", "ca.pem", "-noout", "-subject")).EnsureSuccess().StandardOutput.Trim();
        Assert.Contains(root, result.StandardOutput);
        Assert.Contains(issuing, result.StandardOutput);
    }

    [SkippableTheory]
    [InlineData(null)]
    [InlineData("server")]
    public async Task CsrAttrs_Asn1Parse_AsksForP256AndEcdsaWithSha256(string? label)
    {
        var est = Session;
        await est.WriteCaFilesAsync();

        var answer = await est.Curl.GetAsync(est.Curl.Url("csrattrs", label));

        Assert.True(answer.Status == 200, answer.ToString());
        Assert.StartsWith("application/csrattrs", answer.ContentType);
        Assert.Equal("base64", answer.Header("Content-Transfer-Encoding"));
        EstCurlSession.AssertBase64Lines(answer);
        await File.WriteAllBytesAsync(est.File("attrs.b64"), answer.Body);
        (await est.Openssl.RunAsync("base64", "-d", "-in", "attrs.b64", "-out", "attrs.der")).EnsureSuccess();
        var parsed = (await est.Openssl.RunAsync("asn1parse", "-inform", "DER", "-in", "attrs.der")).EnsureSuccess().StandardOutput;
        // RFC 7030 4.5.2: CsrAttrs ::= SEQUENCE OF AttrOrOID; here the signature algorithm as a bare OID and the key as an
        // Attribute (id-ecPublicKey) whose value is the curve.
        var lines = parsed.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()).ToArray();
        Assert.True(lines.Length >= 6, parsed);
        Assert.Matches(@"d=0 .*cons: SEQUENCE", lines[0]);
        Assert.Matches(@"d=1 .*prim: OBJECT\s+:ecdsa-with-SHA256", lines[1]);
        Assert.Matches(@"d=1 .*cons: SEQUENCE", lines[2]);
        Assert.Matches(@"d=2 .*prim: OBJECT\s+:id-ecPublicKey", lines[3]);
        Assert.Matches(@"d=2 .*cons: SET", lines[4]);
        Assert.Matches(@"d=3 .*prim: OBJECT\s+:prime256v1", lines[5]);
    }

    /// <summary>RFC 8951 3.2: every body form clients send, with Basic (user name ignored) or Bearer.</summary>
    [SkippableTheory]
    [InlineData(CurlCsrBody.Base64OneLine, "basic")]
    [InlineData(CurlCsrBody.Base64Lf, "basic")]
    [InlineData(CurlCsrBody.Base64Crlf, "basic")]
    [InlineData(CurlCsrBody.Pem, "basic")]
    [InlineData(CurlCsrBody.PemNewCertificateRequest, "basic")]
    [InlineData(CurlCsrBody.Base64OneLine, "bearer")]
    [InlineData(CurlCsrBody.Base64Crlf, "bearer")]
    [InlineData(CurlCsrBody.Base64Lf, "basic+cte")]
    [InlineData(CurlCsrBody.Base64OneLine, "bearer+cte")]
    public async Task SimpleEnroll_CsrBodyForm_IssuesCertificateThatVerifies(CurlCsrBody form, string authentication)
    {
        var est = Session;
        await est.WriteCaFilesAsync();
        var name = EstCurlSession.UniqueName("est-enroll");
        var der = await est.NewCsrAsync("device", name);
        var token = await est.Admin.CreateTokenAsync(name, [EstCurlSession.SpiffeId(name)]);
        var body = await EstCurl.WriteCsrBodyAsync(est.WorkingDirectory, "device.body", der, form);
        string[] credentials = authentication.StartsWith("basic", StringComparison.Ordinal)
            ? EstCurl.Basic(token.Secret, user: $"whoever-{Guid.NewGuid():N}")
            : EstCurl.Bearer(token.Secret);
        string[] transferEncoding = authentication.EndsWith("+cte", StringComparison.Ordinal) ? ["-H", "Content-Transfer-Encoding: base64"] : [];

        var answer = await est.Curl.PostAsync(est.Curl.Url("simpleenroll"), body, [.. credentials, .. transferEncoding]);

        Assert.True(answer.Status == 200, answer.ToString());
        Assert.StartsWith("application/pkcs7-mime", answer.ContentType);
        Assert.Contains("smime-type=certs-only", answer.ContentType);
        Assert.Equal("base64", answer.Header("Content-Transfer-Encoding"));
        EstCurlSession.AssertBase64Lines(answer);
        Assert.Equal(1, await est.CertificatesAsync(answer, "device.pem"));
        await est.AssertVerifiesAsync("device.pem");
        Assert.Equal(await est.PublicKeyOfKeyAsync("device.key"), await est.PublicKeyOfCertificateAsync("device.pem"));
        var text = await est.Openssl.TextAsync("device.pem");
        Assert.Contains($"CN={name}", text.Replace(" = ", "="));
        Assert.Contains($"URI:{EstCurlSession.SpiffeId(name)}", text);
        Assert.Contains("TLS Web Client Authentication", text);
        Assert.Equal("active", await service.Api.GetStatusAsync(await est.SerialAsync("device.pem")));
        Assert.Equal("used", await est.Admin.TokenStatusAsync(token));
    }

    /// <summary>The label picks the profile: /.well-known/est/server/ with a server token gives a server certificate.</summary>
    [SkippableTheory]
    [InlineData("server", "TLS Web Server Authentication", "TLS Web Client Authentication")]
    [InlineData("client", "TLS Web Client Authentication", "TLS Web Server Authentication")]
    public async Task SimpleEnroll_LabelWithItsProfilesToken_IssuesThatProfile(string label, string extendedKeyUsage, string absentUsage)
    {
        var est = Session;
        await est.WriteCaFilesAsync();
        var name = EstCurlSession.UniqueName($"est-{label}");
        var der = await est.NewCsrAsync("labelled", name);
        var token = await est.Admin.CreateTokenAsync(name, [EstCurlSession.SpiffeId(name)], profile: label);
        var body = await EstCurl.WriteCsrBodyAsync(est.WorkingDirectory, "labelled.b64", der, CurlCsrBody.Base64Lf);

        var answer = await est.Curl.PostAsync(est.Curl.Url("simpleenroll", label), body, EstCurl.Bearer(token.Secret));

        Assert.True(answer.Status == 200, answer.ToString());
        Assert.Equal(1, await est.CertificatesAsync(answer, "labelled.pem"));
        await est.AssertVerifiesAsync("labelled.pem");
        var text = await est.Openssl.TextAsync("labelled.pem");
        Assert.Contains(extendedKeyUsage, text);
        Assert.DoesNotContain(absentUsage, text);
    }

    /// <summary>RFC 7030 4.2.2: re-enrollment with the current certificate as TLS client certificate and a new key.</summary>
    [SkippableTheory]
    [InlineData(null, "client")]
    [InlineData("server", "server")]
    public async Task SimpleReenroll_CurrentCertificateAndNewKey_IssuesAndSupersedesOld(string? label, string profile)
    {
        var est = Session;
        await est.WriteCaFilesAsync();
        var name = EstCurlSession.UniqueName("est-reenroll");
        var oldSerial = await est.EnrollAsync(name, "old", profile, label);
        var der = await est.NewCsrAsync("new", name);
        var body = await EstCurl.WriteCsrBodyAsync(est.WorkingDirectory, "new.b64", der, CurlCsrBody.Base64Crlf);

        var answer = await est.Curl.PostAsync(est.Curl.Url("simplereenroll", label), body, EstCurl.ClientCertificate("old.pem", "old.key"));

        Assert.True(answer.Status == 200, answer.ToString());
        Assert.StartsWith("application/pkcs7-mime", answer.ContentType);
        Assert.Contains("smime-type=certs-only", answer.ContentType);
        Assert.Equal("base64", answer.Header("Content-Transfer-Encoding"));
        EstCurlSession.AssertBase64Lines(answer);
        Assert.Equal(1, await est.CertificatesAsync(answer, "new.pem"));
        await est.AssertVerifiesAsync("new.pem");
        Assert.Equal(await est.PublicKeyOfKeyAsync("new.key"), await est.PublicKeyOfCertificateAsync("new.pem"));
        var newSerial = await est.SerialAsync("new.pem");
        Assert.NotEqual(oldSerial, newSerial);
        Assert.Equal("superseded", await service.Api.GetStatusAsync(oldSerial));
        Assert.Equal("active", await service.Api.GetStatusAsync(newSerial));
        var text = (await est.Openssl.TextAsync("new.pem")).Replace(" = ", "=");
        Assert.Contains($"CN={name}", text);
        Assert.Contains($"URI:{EstCurlSession.SpiffeId(name)}", text);
        var audit = await est.Admin.NewestAuditAsync("certificate.renew");
        Assert.Contains(newSerial, audit.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith("via est", audit.GetProperty("details").GetString());
        await AssertCountedAsync("pki_certificates_renewed_total");

        // The new certificate re-enrolls in turn: rotation over EST is a loop.
        var third = await est.NewCsrAsync("third", name);
        var thirdBody = await EstCurl.WriteCsrBodyAsync(est.WorkingDirectory, "third.b64", third, CurlCsrBody.Pem);
        var again = await est.Curl.PostAsync(est.Curl.Url("simplereenroll", label), thirdBody, EstCurl.ClientCertificate("new.pem", "new.key"));
        Assert.True(again.Status == 200, again.ToString());
        Assert.Equal("superseded", await service.Api.GetStatusAsync(newSerial));
    }

    /// <summary>
    /// RFC 7030 4.4: the server makes the key. The multipart answer splits into the PKCS#8 key and the certificate, and
    /// the key is the certificate's (openssl pkey -pubout = openssl x509 -pubkey), not the CSR's.
    /// </summary>
    [SkippableTheory]
    [InlineData(KeyType.EcP256, null, "NIST CURVE: P-256")]
    [InlineData(KeyType.Rsa2048, null, "Public-Key: (2048 bit)")]
    [InlineData(KeyType.EcP384, "server", "NIST CURVE: P-384")]
    public async Task ServerKeyGen_MultipartAnswer_KeyMatchesCertificate(KeyType keyType, string? label, string keyText)
    {
        var est = Session;
        await est.WriteCaFilesAsync();
        var name = EstCurlSession.UniqueName("est-keygen");
        var der = await est.NewCsrAsync("request", name, keyType: keyType);
        var token = await est.Admin.CreateTokenAsync(name, [EstCurlSession.SpiffeId(name)], profile: label ?? "client");
        var body = await EstCurl.WriteCsrBodyAsync(est.WorkingDirectory, "request.b64", der, CurlCsrBody.Base64OneLine);

        var answer = await est.Curl.PostAsync(est.Curl.Url("serverkeygen", label), body, EstCurl.Basic(token.Secret));

        Assert.True(answer.Status == 200, answer.ToString());
        Assert.StartsWith("multipart/mixed", answer.ContentType);
        Assert.Equal("no-store", answer.Header("Cache-Control"));
        var parts = MultipartParts(answer);
        Assert.Equal(2, parts.Count);
        Assert.StartsWith("application/pkcs8", parts[0].Headers["content-type"]);
        Assert.Equal("base64", parts[0].Headers["content-transfer-encoding"]);
        Assert.StartsWith("application/pkcs7-mime", parts[1].Headers["content-type"]);
        Assert.Contains("smime-type=certs-only", parts[1].Headers["content-type"]);
        Assert.Equal("base64", parts[1].Headers["content-transfer-encoding"]);

        await File.WriteAllBytesAsync(est.File("key.b64"), Encoding.ASCII.GetBytes(parts[0].Body));
        (await est.Openssl.RunAsync("base64", "-d", "-in", "key.b64", "-out", "key.der")).EnsureSuccess();
        // An unencrypted PKCS#8 PrivateKeyInfo: openssl reads it as DER with no passphrase.
        (await est.Openssl.RunAsync("pkey", "-inform", "DER", "-in", "key.der", "-out", "server-made.key")).EnsureSuccess();
        Assert.Equal(1, await est.CertificatesAsync(Encoding.ASCII.GetBytes(parts[1].Body), "server-made.pem"));
        await est.AssertVerifiesAsync("server-made.pem");
        var serverKey = await est.PublicKeyOfKeyAsync("server-made.key");
        Assert.Equal(serverKey, await est.PublicKeyOfCertificateAsync("server-made.pem"));
        Assert.NotEqual(await est.PublicKeyOfKeyAsync("request.key"), serverKey);
        Assert.Contains(keyText, await est.Openssl.TextAsync("server-made.pem"));
        var text = (await est.Openssl.TextAsync("server-made.pem")).Replace(" = ", "=");
        Assert.Contains($"CN={name}", text);
        Assert.Equal("used", await est.Admin.TokenStatusAsync(token));
        // The key works: it signs, and the certificate's public key verifies the signature.
        await File.WriteAllTextAsync(est.File("message.txt"), "signed by the server-made key");
        (await est.Openssl.RunAsync("pkeyutl", "-sign", "-inkey", "server-made.key", "-rawin", "-digest", "sha256", "-in", "message.txt", "-out", "message.sig")).EnsureSuccess();
        (await est.Openssl.RunAsync("x509", "-in", "server-made.pem", "-noout", "-pubkey", "-out", "server-made.pub")).EnsureSuccess();
        var check = await est.Openssl.RunAsync("pkeyutl", "-verify", "-pubin", "-inkey", "server-made.pub", "-rawin", "-digest", "sha256", "-in", "message.txt", "-sigfile", "message.sig");
        Assert.True(check.ExitCode == 0, check.ToString());
    }

    /// <summary>An EST certificate is an ordinary one: OCSP says good, the admin revokes it, OCSP says revoked.</summary>
    [SkippableFact]
    public async Task SimpleEnroll_IssuedCertificate_RevocableAndOcspSaysRevoked()
    {
        var est = Session;
        await est.WriteCaFilesAsync();
        var name = EstCurlSession.UniqueName("est-revoke");
        var serial = await est.EnrollAsync(name, "device");
        var audit = await est.Admin.NewestAuditAsync("certificate.issue");
        Assert.Contains(serial, audit.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith("via est", audit.GetProperty("details").GetString());

        var before = await OcspAsync("device.pem");
        Assert.Contains("device.pem: good", before.StandardOutput);

        await service.Api.RevokeAsync(serial, "keyCompromise");

        var after = await OcspAsync("device.pem");
        Assert.Contains("device.pem: revoked", after.StandardOutput);
        Assert.Equal("revoked", await service.Api.GetStatusAsync(serial));
        await AssertCountedAsync("pki_certificates_issued_total");
    }

    /// <summary>The counter has a successful series labelled protocol="est" in /metrics (Prometheus text).</summary>
    private async Task AssertCountedAsync(string counter)
    {
        var metrics = await service.Api.GetTextAsync("metrics");
        Assert.Matches(new System.Text.RegularExpressions.Regex(
            $@"^{counter}\{{(?=[^}}]*protocol=""est"")(?=[^}}]*outcome=""success"")[^}}]*\}} [1-9]",
            System.Text.RegularExpressions.RegexOptions.Multiline), metrics);
    }

    /// <summary>The README's EST example block, run as written (only the two addresses and the admin key substituted).</summary>
    [SkippableFact]
    public async Task Readme_EstExamples_RunAsWritten()
    {
        var est = Session;
        RequiredTool.Jq();
        var script = ReadmeEstScript()
            .Replace("https://127.0.0.1:5443", service.MtlsAddress.ToString().TrimEnd('/'), StringComparison.Ordinal)
            .Replace("http://127.0.0.1:5080", service.PublicBaseUrl, StringComparison.Ordinal);
        // The block expects the admin key in KEY, as the "Enroll a client certificate" section sets it.
        await File.WriteAllTextAsync(est.File("readme-est.sh"), $"set -euo pipefail\nKEY={ServiceProcess.AdminApiKey}\n{script}");

        var result = await ExternalCommand.RunAsync("bash", ["readme-est.sh"], est.WorkingDirectory, TimeSpan.FromMinutes(2));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(2, (await File.ReadAllTextAsync(est.File("cacerts.pem"))).Split("-----BEGIN CERTIFICATE-----").Length - 1);
        Assert.Contains(":prime256v1", result.StandardOutput);
        // simplereenroll replaced device.pem/.key: the new pair verifies and matches, the first certificate is superseded.
        await est.WriteCaFilesAsync();
        await est.AssertVerifiesAsync("device.pem");
        Assert.Equal(await est.PublicKeyOfKeyAsync("device.key"), await est.PublicKeyOfCertificateAsync("device.pem"));
        Assert.Equal("active", await service.Api.GetStatusAsync(await est.SerialAsync("device.pem")));
        Assert.Contains("key matches", result.StandardOutput);
        await est.AssertVerifiesAsync("sensor.pem");
    }

    private Task<CommandResult> OcspAsync(string certificateFile) =>
        Session.Openssl.RunAsync("ocsp", "-issuer", "ca.pem", "-cert", certificateFile, "-url", $"{service.PublicBaseUrl}/ocsp", "-CAfile", "chain.pem");

    private async Task<string> FingerprintAsync(string certificateFile) =>
        (await Session.Openssl.RunAsync("x509", "-in", certificateFile, "-noout", "-fingerprint", "-sha256")).EnsureSuccess().StandardOutput.Trim();

    /// <summary>The SHA-256 fingerprint of every certificate in a PEM file (openssl x509 reads one at a time).</summary>
    private async Task<List<string>> FingerprintsAsync(string pemFile)
    {
        var text = await File.ReadAllTextAsync(Session.File(pemFile));
        var fingerprints = new List<string>();
        var index = 0;
        foreach (var block in text.Split("-----BEGIN CERTIFICATE-----").Skip(1))
        {
            var file = $"split-{index++}.pem";
            await File.WriteAllTextAsync(Session.File(file), "-----BEGIN CERTIFICATE-----" + block[..(block.IndexOf("-----END CERTIFICATE-----", StringComparison.Ordinal) + 25)] + "\n");
            fingerprints.Add(await FingerprintAsync(file));
        }
        return fingerprints;
    }

    private sealed record Part(IReadOnlyDictionary<string, string> Headers, string Body);

    /// <summary>
    /// Splits a multipart/mixed answer (RFC 2046 5.1) at its boundary, as a client does: each part's headers up to the
    /// first empty line, then its body. The wire contract says CRLF line ends.
    /// </summary>
    private static List<Part> MultipartParts(EstCurlAnswer answer)
    {
        var boundary = answer.ContentType.Split(';').Select(p => p.Trim())
            .First(p => p.StartsWith("boundary=", StringComparison.OrdinalIgnoreCase))["boundary=".Length..].Trim('"');
        var text = answer.Text;
        Assert.Contains($"--{boundary}\r\n", text);
        Assert.Contains($"\r\n--{boundary}--", text);
        var closing = text.IndexOf($"\r\n--{boundary}--", StringComparison.Ordinal);
        var parts = new List<Part>();
        foreach (var raw in text[..closing].Split($"--{boundary}\r\n").Skip(1))
        {
            var part = raw.EndsWith("\r\n", StringComparison.Ordinal) ? raw[..^2] : raw;
            var split = part.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            Assert.True(split > 0, $"a part without headers:\n{part}");
            var headers = part[..split].Split("\r\n")
                .Select(line => line.Split(':', 2))
                .ToDictionary(pair => pair[0].Trim().ToLowerInvariant(), pair => pair[1].Trim());
            parts.Add(new Part(headers, part[(split + 4)..]));
        }
        return parts;
    }

    /// <summary>The shell blocks of the README's "EST (RFC 7030)" section, in order.</summary>
    private static string ReadmeEstScript()
    {
        var readme = File.ReadAllText(RepositoryFile("README.md"));
        var start = readme.IndexOf("\n## EST (RFC 7030)", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no '## EST (RFC 7030)' section");
        var end = readme.IndexOf("\n## ", start + 5, StringComparison.Ordinal);
        var section = end < 0 ? readme[start..] : readme[start..end];
        var script = new StringBuilder();
        var inBlock = false;
        foreach (var line in section.Split('\n'))
        {
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                inBlock = !inBlock && line.Trim() == "```sh";
                continue;
            }
            if (inBlock)
            {
                script.Append(line).Append('\n');
            }
        }
        Assert.True(script.Length > 0, "the EST section has no ```sh block");
        return script.ToString();
    }

    private static string RepositoryFile(string name)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var path = Path.Combine(directory.FullName, name);
            if (File.Exists(path) && Directory.Exists(Path.Combine(directory.FullName, "src")))
            {
                return path;
            }
        }
        throw new InvalidOperationException($"{name} not found above {AppContext.BaseDirectory}");
    }
}
