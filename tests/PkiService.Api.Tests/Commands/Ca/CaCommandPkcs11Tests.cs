using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using PkiService.Api.Commands.Ca;
using PkiService.Api.Tests.Features.RootCrl;
using PkiService.Api.Tests.Support;
using PkiService.Core.Authorities;
using PkiService.Tests.Shared;

namespace PkiService.Api.Tests.Commands.Ca;

/// <summary>
/// The <c>ca</c> commands with <c>Pki:KeyStore=Pkcs11</c> on a throwaway SoftHSM2 token: the issuing key is made in
/// (or imported into) the token, the external root's certificate stays in the data directory, and the service then
/// issues under that root with no root key anywhere.
/// </summary>
[Collection(SoftHsmCollection.Name)]
public sealed class CaCommandPkcs11Tests(SoftHsm softHsm) : IDisposable
{
    private readonly string _dataDirectory = TempDirectory.Create();
    private readonly string _work = TempDirectory.Create();

    public void Dispose()
    {
        Directory.Delete(_work, recursive: true);
        Directory.Delete(_dataDirectory, recursive: true);
    }

    [SkippableFact]
    public async Task InitAndInstallIssuing_KeyInToken_ServiceIssuesUnderExternalRootWithNoRootKey()
    {
        softHsm.Require();
        var settings = Settings(softHsm.CreateToken());
        using var root = ExternalRoot.SelfSigned("CN=Token Test Root, O=Example", pathLength: null);
        var csrPath = Path.Combine(_work, "issuing.csr");

        Assert.Equal(0, Run(settings, "init-issuing", "--csr", csrPath));
        await File.WriteAllTextAsync(Path.Combine(_work, "issuing.crt"), Sign(root, await File.ReadAllTextAsync(csrPath)));
        await File.WriteAllTextAsync(Path.Combine(_work, "root.crt"), root.ExportCertificatePem());
        Assert.Equal(0, Run(settings, "install-issuing", "--cert", Path.Combine(_work, "issuing.crt"), "--chain", Path.Combine(_work, "root.crt")));

        await AssertIssuesUnderAsync(settings, root);
    }

    [SkippableFact]
    public async Task ImportIssuing_SoftwareKey_IsImportedIntoTokenAndServiceIssuesUnderExternalRoot()
    {
        softHsm.Require();
        var settings = Settings(softHsm.CreateToken());
        using var root = ExternalRoot.SelfSigned("CN=Token Test Root, O=Example", pathLength: null);
        using var existing = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest("CN=Existing Issuing CA, O=Example", existing, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        await File.WriteAllTextAsync(Path.Combine(_work, "issuing.crt"), Sign(root, csr));
        await File.WriteAllTextAsync(Path.Combine(_work, "issuing.key"), existing.ExportPkcs8PrivateKeyPem());
        await File.WriteAllTextAsync(Path.Combine(_work, "root.crt"), root.ExportCertificatePem());

        Assert.Equal(0, Run(settings, "import-issuing", "--cert", Path.Combine(_work, "issuing.crt"), "--key", Path.Combine(_work, "issuing.key"),
            "--chain", Path.Combine(_work, "root.crt")));

        await AssertIssuesUnderAsync(settings, root);
    }

    private async Task AssertIssuesUnderAsync(Dictionary<string, string?> settings, X509Certificate2 root)
    {
        Assert.Empty(Directory.GetFiles(_dataDirectory, "*-ca.key")); // the issuing key is in the token, there is no root key
        using var factory = new PkiApiFactory(_dataDirectory, settings: settings);
        var hierarchy = factory.Services.GetRequiredService<CaHierarchy>();
        Assert.True(hierarchy.IsRootExternal);
        Assert.Throws<CryptographicException>(() => ((ECDsa)hierarchy.Issuing.PrivateKey).ExportParameters(includePrivateParameters: true));

        var token = await factory.CreateTokenAsync("hsm-client");
        var response = await factory.EnrollAsync(token, Csrs.P256("hsm-client"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var enrolled = (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        ExternalRoot.AssertChainsTo(root, enrolled.Certificate, enrolled.Chain);
    }

    /// <summary>The external root signs <paramref name="csrPem"/> as an issuing CA (pathlen 0, keyCertSign, cRLSign).</summary>
    internal static string Sign(X509Certificate2 root, string csrPem)
    {
        var request = CertificateRequest.LoadSigningRequestPem(csrPem, HashAlgorithmName.SHA384, CertificateRequestLoadOptions.Default);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(root, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        using var signed = request.Create(root, DateTimeOffset.UtcNow.AddMinutes(-2), DateTimeOffset.UtcNow.AddYears(2), RandomNumberGenerator.GetBytes(16));
        return signed.ExportCertificatePem();
    }

    private int Run(Dictionary<string, string?> settings, params string[] arguments)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = CaCommand.Run(
            ["ca", .. arguments, $"--Pki:DataDirectory={_dataDirectory}", $"--Pki:KeyPassphrase={PkiApiFactory.Passphrase}",
                .. settings.Select(s => $"--{s.Key}={s.Value}")],
            output, error);
        Assert.True(exitCode == 0, $"exit {exitCode}: {error}");
        return exitCode;
    }

    private static Dictionary<string, string?> Settings(string label) => new()
    {
        ["Pki:KeyStore"] = "Pkcs11",
        ["Pkcs11:Library"] = SoftHsm.LibraryPath,
        ["Pkcs11:TokenLabel"] = label,
        ["Pkcs11:Pin"] = SoftHsm.Pin,
    };
}
