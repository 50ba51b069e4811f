using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Enrollment;

/// <summary>Keys and CSRs made by openssl enroll through the real service, and openssl accepts what comes back.</summary>
[Collection(ServiceCollection.Name)]
public sealed class OpensslEnrollmentTests(ServiceProcess service) : IDisposable
{
    private const string SpiffeId = "spiffe://example.org/client-1";

    private readonly TempDirectory _work = new();

    public void Dispose() => _work.Dispose();

    [SkippableFact]
    public async Task Enroll_SpiffeCsr_VerifiesWithOpenssl()
    {
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        await openssl.GenerateKeyAsync(KeyType.EcP256, "client.key");
        var csr = await openssl.CreateCsrAsync("client.key", "client-1", $"URI:{SpiffeId}", "client.csr");

        var token = await service.Api.CreateEnrollmentTokenAsync("client-1", [SpiffeId]);
        var issued = await service.Api.EnrollAsync(token, csr);
        await WriteCaFilesAsync();
        await File.WriteAllTextAsync(_work.File("cert.pem"), issued.Certificate);

        var verify = await openssl.RunAsync("verify", "-CAfile", "root.pem", "-untrusted", "ca.pem", "cert.pem");
        Assert.True(verify.ExitCode == 0 && verify.StandardOutput.Contains("cert.pem: OK"), verify.ToString());

        var text = await openssl.TextAsync("cert.pem");
        var extensions = Openssl.Extensions(text);
        AssertExtension(extensions, text, "X509v3 Basic Constraints", critical: true, "CA:FALSE");
        AssertExtension(extensions, text, "X509v3 Key Usage", critical: true, "Digital Signature");
        AssertExtension(extensions, text, "X509v3 Extended Key Usage", critical: false, "TLS Web Client Authentication");
        AssertExtension(extensions, text, "X509v3 Subject Key Identifier", critical: false, ":");
        AssertExtension(extensions, text, "X509v3 Authority Key Identifier", critical: false, ":");
        AssertExtension(extensions, text, "X509v3 Subject Alternative Name", critical: false, $"URI:{SpiffeId}");
        AssertExtension(extensions, text, "X509v3 CRL Distribution Points", critical: false, $"URI:{service.PublicBaseUrl}/pki/crl");
        AssertExtension(extensions, text, "Authority Information Access", critical: false, $"OCSP - URI:{service.PublicBaseUrl}/ocsp");
        AssertExtension(extensions, text, "Authority Information Access", critical: false, $"CA Issuers - URI:{service.PublicBaseUrl}/pki/ca.crt");
        Assert.DoesNotContain("TLS Web Server Authentication", text);
    }

    [SkippableFact]
    public async Task Enroll_OpensslCsrForIdnALabel_CertificateShowsALabel()
    {
        // The token names the IDN as a U-label; it is stored and issued as the A-label an openssl client asks for.
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        await openssl.GenerateKeyAsync(KeyType.EcP256, "idn.key");
        var csr = await openssl.CreateCsrAsync("idn.key", "buecher", "DNS:xn--bcher-kva.example", "idn.csr");

        var token = await service.Api.CreateEnrollmentTokenAsync("buecher", ["bücher.example"]);
        var issued = await service.Api.EnrollAsync(token, csr);
        await File.WriteAllTextAsync(_work.File("idn.pem"), issued.Certificate);

        var text = await openssl.TextAsync("idn.pem");
        var extensions = Openssl.Extensions(text);
        AssertExtension(extensions, text, "X509v3 Subject Alternative Name", critical: false, "DNS:xn--bcher-kva.example");
    }

    [SkippableTheory]
    [InlineData(KeyType.Rsa2048, "Public-Key: (2048 bit)")]
    [InlineData(KeyType.EcP256, "NIST CURVE: P-256")]
    [InlineData(KeyType.EcP384, "NIST CURVE: P-384")]
    [InlineData(KeyType.Ed25519, "Public Key Algorithm: ED25519")]
    public async Task Enroll_OpensslKeyType_IssuesCertificateThatVerifies(KeyType keyType, string publicKeyText)
    {
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        var commonName = $"client-{keyType.ToString().ToLowerInvariant()}";
        var spiffeId = $"spiffe://example.org/{commonName}";
        await openssl.GenerateKeyAsync(keyType, "client.key");
        var csr = await openssl.CreateCsrAsync("client.key", commonName, $"URI:{spiffeId}", "client.csr");

        var token = await service.Api.CreateEnrollmentTokenAsync(commonName, [spiffeId]);
        var issued = await service.Api.EnrollAsync(token, csr);
        await WriteCaFilesAsync();
        await File.WriteAllTextAsync(_work.File("cert.pem"), issued.Certificate);

        var verify = await openssl.RunAsync("verify", "-CAfile", "root.pem", "-untrusted", "ca.pem", "cert.pem");
        Assert.True(verify.ExitCode == 0 && verify.StandardOutput.Contains("cert.pem: OK"), verify.ToString());
        var text = await openssl.TextAsync("cert.pem");
        Assert.Contains(publicKeyText, text, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"URI:{spiffeId}", text);
        // The certificate carries the key of the CSR, not one of its own.
        var certificateKey = (await openssl.RunAsync("x509", "-in", "cert.pem", "-noout", "-pubkey")).EnsureSuccess().StandardOutput;
        var csrKey = (await openssl.RunAsync("pkey", "-in", "client.key", "-pubout")).EnsureSuccess().StandardOutput;
        Assert.Equal(csrKey, certificateKey);
    }

    /// <summary>RSA-PSS CSRs as openssl makes them (default salt = the longest; RSA-PSS keys) enroll, and openssl verifies the result.</summary>
    [SkippableTheory]
    [InlineData("RSA", "-sigopt rsa_padding_mode:pss", "Public Key Algorithm: rsaEncryption")]
    [InlineData("RSA", "-sigopt rsa_padding_mode:pss -sha384 -sigopt rsa_pss_saltlen:max", "Public Key Algorithm: rsaEncryption")]
    [InlineData("RSA-PSS", "", "Public Key Algorithm: rsassaPss")]
    public async Task Enroll_OpensslRsaPssCsr_IssuesCertificateThatVerifies(string algorithm, string signatureOptions, string publicKeyText)
    {
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        var commonName = $"client-pss-{Guid.NewGuid():N}"[..20];
        var spiffeId = $"spiffe://example.org/{commonName}";
        (await openssl.RunAsync("genpkey", "-algorithm", algorithm, "-pkeyopt", "rsa_keygen_bits:2048", "-out", "client.key")).EnsureSuccess();
        (await openssl.RunAsync(["req", "-new", "-key", "client.key", "-subj", $"/CN={commonName}", "-addext", $"subjectAltName=URI:{spiffeId}",
            .. signatureOptions.Split(' ', StringSplitOptions.RemoveEmptyEntries), "-out", "client.csr"])).EnsureSuccess();
        (await openssl.RunAsync("req", "-verify", "-noout", "-in", "client.csr")).EnsureSuccess();

        var token = await service.Api.CreateEnrollmentTokenAsync(commonName, [spiffeId]);
        var issued = await service.Api.EnrollAsync(token, await File.ReadAllTextAsync(_work.File("client.csr")));
        await WriteCaFilesAsync();
        await File.WriteAllTextAsync(_work.File("cert.pem"), issued.Certificate);

        var verify = await openssl.RunAsync("verify", "-CAfile", "root.pem", "-untrusted", "ca.pem", "cert.pem");
        Assert.True(verify.ExitCode == 0 && verify.StandardOutput.Contains("cert.pem: OK"), verify.ToString());
        Assert.Contains(publicKeyText, await openssl.TextAsync("cert.pem"));
        Assert.Equal(
            (await openssl.RunAsync("pkey", "-in", "client.key", "-pubout")).EnsureSuccess().StandardOutput,
            (await openssl.RunAsync("x509", "-in", "cert.pem", "-noout", "-pubkey")).EnsureSuccess().StandardOutput);
    }

    private async Task WriteCaFilesAsync()
    {
        await File.WriteAllTextAsync(_work.File("root.pem"), await service.Api.GetTextAsync("pki/root.pem"));
        await File.WriteAllTextAsync(_work.File("ca.pem"), await service.Api.GetTextAsync("pki/ca.pem"));
    }

    private static void AssertExtension(
        IReadOnlyDictionary<string, (bool Critical, string Value)> extensions, string text, string name, bool critical, string expected)
    {
        Assert.True(extensions.TryGetValue(name, out var extension), $"'{name}' is missing from:\n{text}");
        Assert.True(extension.Critical == critical, $"'{name}' should be {(critical ? "" : "non-")}critical:\n{text}");
        Assert.True(extension.Value.Contains(expected, StringComparison.Ordinal), $"'{name}' should contain '{expected}' but is '{extension.Value}'");
    }
}
