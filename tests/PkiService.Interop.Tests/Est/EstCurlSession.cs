using System.Text;
using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Est;

/// <summary>
/// One test's tools and work folder for the curl EST tests: openssl and curl (required: missing fails under CI=true),
/// the CA files, and the steps most tests share (a key and CSR, an EST enrollment, the certificates out of a certs-only
/// answer with <c>openssl base64 -d | openssl pkcs7 -print_certs</c>).
/// </summary>
public sealed class EstCurlSession : IDisposable
{
    private readonly TempDirectory _work = new("pki-est-curl-");

    public EstCurlSession(ServiceProcess service)
    {
        Service = service;
        Openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        Curl = new EstCurl(RequiredTool.Curl(), _work.Path, service.MtlsAddress);
        Admin = new EstCurlAdmin(service);
    }

    public ServiceProcess Service { get; }

    public Openssl Openssl { get; }

    public EstCurl Curl { get; }

    public EstCurlAdmin Admin { get; }

    public string WorkingDirectory => _work.Path;

    public string File(string name) => _work.File(name);

    public void Dispose() => _work.Dispose();

    /// <summary>root.pem (the only trust anchor curl gets), ca.pem (the issuing CA) and chain.pem (both).</summary>
    public async Task WriteCaFilesAsync() => await ServiceCertificates.WriteCaFilesAsync(Service.Api, _work.Path);

    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    public static string SpiffeId(string name) => $"spiffe://example.org/{name}";

    /// <summary>A new P-256 key <c>&lt;file&gt;.key</c> and a CSR <c>&lt;file&gt;.csr</c> for CN=<paramref name="commonName"/>; returns the DER.</summary>
    public async Task<byte[]> NewCsrAsync(string file, string commonName, string? spiffeId = null, KeyType keyType = KeyType.EcP256)
    {
        await Openssl.GenerateKeyAsync(keyType, $"{file}.key");
        return await CsrForKeyAsync(file, $"{file}.key", commonName, spiffeId ?? SpiffeId(commonName));
    }

    /// <summary>A CSR <c>&lt;file&gt;.csr</c> (PEM) and <c>&lt;file&gt;.der</c> for an existing key; returns the DER.</summary>
    public async Task<byte[]> CsrForKeyAsync(string file, string keyFile, string commonName, string spiffeId)
    {
        await Openssl.CreateCsrAsync(keyFile, commonName, $"URI:{spiffeId}", $"{file}.csr");
        (await Openssl.RunAsync("req", "-in", $"{file}.csr", "-outform", "DER", "-out", $"{file}.der")).EnsureSuccess();
        return await System.IO.File.ReadAllBytesAsync(File($"{file}.der"));
    }

    /// <summary>
    /// Enrolls <c>&lt;file&gt;.key/.pem</c> for CN=<paramref name="name"/> over EST simpleenroll (Basic, one-line base64)
    /// and asserts the 200; returns the serial.
    /// </summary>
    public async Task<string> EnrollAsync(string name, string file, string profile = "client", string? label = null)
    {
        var der = await NewCsrAsync(file, name);
        var token = await Admin.CreateTokenAsync(name, [SpiffeId(name)], profile);
        var body = await EstCurl.WriteCsrBodyAsync(WorkingDirectory, $"{file}.b64", der, CurlCsrBody.Base64OneLine);
        var answer = await Curl.PostAsync(Curl.Url("simpleenroll", label), body, EstCurl.Basic(token.Secret));
        Assert.True(answer.Status == 200, answer.ToString());
        Assert.Equal(1, await CertificatesAsync(answer, $"{file}.pem"));
        return await SerialAsync($"{file}.pem");
    }

    /// <summary>
    /// The certificates of a certs-only answer, the way a person at a shell gets them: the body into a file,
    /// <c>openssl base64 -d</c>, <c>openssl pkcs7 -inform DER -print_certs</c> into <paramref name="pemFile"/>.
    /// Returns how many certificates it holds.
    /// </summary>
    public async Task<int> CertificatesAsync(EstCurlAnswer answer, string pemFile) =>
        await CertificatesAsync(answer.Body, pemFile);

    public async Task<int> CertificatesAsync(byte[] base64Body, string pemFile)
    {
        var stem = Path.GetFileNameWithoutExtension(pemFile);
        await System.IO.File.WriteAllBytesAsync(File($"{stem}.p7.b64"), base64Body);
        (await Openssl.RunAsync("base64", "-d", "-in", $"{stem}.p7.b64", "-out", $"{stem}.p7.der")).EnsureSuccess();
        Assert.True(new FileInfo(File($"{stem}.p7.der")).Length > 0, $"openssl base64 -d decoded nothing from:\n{Encoding.UTF8.GetString(base64Body)}");
        (await Openssl.RunAsync("pkcs7", "-inform", "DER", "-in", $"{stem}.p7.der", "-print_certs", "-out", pemFile)).EnsureSuccess();
        var text = await System.IO.File.ReadAllTextAsync(File(pemFile));
        return text.Split("-----BEGIN CERTIFICATE-----").Length - 1;
    }

    public async Task<string> SerialAsync(string certificateFile)
    {
        var output = (await Openssl.RunAsync("x509", "-in", certificateFile, "-noout", "-serial")).EnsureSuccess().StandardOutput;
        return output.Trim()["serial=".Length..];
    }

    /// <summary><c>openssl verify</c> against the root as trust anchor and the issuing CA as intermediate.</summary>
    public async Task AssertVerifiesAsync(string certificateFile)
    {
        var verify = await Openssl.RunAsync("verify", "-CAfile", "root.pem", "-untrusted", "ca.pem", certificateFile);
        Assert.True(verify.ExitCode == 0 && verify.StandardOutput.Contains($"{certificateFile}: OK"), verify.ToString());
    }

    /// <summary>The public key (PEM) of a private key file, as <c>openssl pkey -pubout</c> prints it.</summary>
    public async Task<string> PublicKeyOfKeyAsync(string keyFile, string inform = "PEM") =>
        (await Openssl.RunAsync("pkey", "-inform", inform, "-in", keyFile, "-pubout")).EnsureSuccess().StandardOutput;

    /// <summary>The public key (PEM) of a certificate, as <c>openssl x509 -pubkey</c> prints it.</summary>
    public async Task<string> PublicKeyOfCertificateAsync(string certificateFile) =>
        (await Openssl.RunAsync("x509", "-in", certificateFile, "-noout", "-pubkey")).EnsureSuccess().StandardOutput;

    /// <summary>
    /// RFC 7030 4.1.3 / the wire contract: base64 in lines of at most 64 characters, each ended by "\n" (no CR),
    /// the last one too.
    /// </summary>
    public static void AssertBase64Lines(EstCurlAnswer answer)
    {
        var text = answer.Text;
        Assert.True(text.Length > 0, answer.ToString());
        Assert.DoesNotContain('\r', text);
        Assert.EndsWith("\n", text);
        var lines = text[..^1].Split('\n');
        Assert.All(lines[..^1], line => Assert.Equal(64, line.Length));
        Assert.InRange(lines[^1].Length, 1, 64);
        Assert.All(lines, line => Assert.Matches("^[A-Za-z0-9+/=]+$", line));
    }
}
