using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Org.BouncyCastle.X509;
using PkiService.Api.Infrastructure;
using PkiService.Api.Tests.Support;
using PkiService.Core.Authorities;
using PkiService.Tests.Shared;

namespace PkiService.Api.Tests.KeyStore;

/// <summary>
/// <c>Pki:KeyStore=Pkcs11</c> on the real service with a throwaway SoftHSM2 token: the CA keys are made in the token,
/// never leave it, sign what the service issues and publishes, and are found again on the next start. The token
/// helper is the PKCS#11 provider tests' own (linked), so both set up SoftHSM2 the same way.
/// </summary>
[Collection(SoftHsmCollection.Name)]
public sealed class Pkcs11KeyStoreTests(SoftHsm softHsm)
{
    [SkippableFact]
    public async Task Start_CaKeysInToken_IssueRevokeAndCrlSignedInTokenThenRestartFindsSameCa()
    {
        var label = softHsm.CreateToken();
        var settings = Settings(label, SoftHsm.Pin);
        string dataDirectory;
        string rootFingerprint;
        string issuingFingerprint;
        using (var factory = new PkiApiFactory(settings: settings))
        {
            dataDirectory = factory.DataDirectory;
            var hierarchy = factory.Services.GetRequiredService<CaHierarchy>();
            (rootFingerprint, issuingFingerprint) = (hierarchy.Root.Fingerprint, hierarchy.Issuing.Fingerprint);
            // The keys stay in the token: nothing exports the private half, and the data directory holds no CA key file.
            Assert.Throws<CryptographicException>(() => ((ECDsa)hierarchy.Issuing.PrivateKey).ExportParameters(includePrivateParameters: true));
            Assert.Empty(Directory.GetFiles(dataDirectory, "*-ca.key"));

            var token = await factory.CreateTokenAsync("hsm-client");
            var response = await factory.EnrollAsync(token, Csrs.P256("hsm-client"));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var enrolled = (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
            var certificate = new X509CertificateParser().ReadCertificate(System.Text.Encoding.ASCII.GetBytes(enrolled.Certificate));
            certificate.Verify(hierarchy.Issuing.Certificate.GetPublicKey()); // signed in the token

            using var admin = factory.CreateAdminClient();
            (await admin.PostAsJsonAsync($"/api/v1/certificates/{enrolled.SerialNumber}/revoke", new { reason = "keyCompromise" })).EnsureSuccessStatusCode();
            using var client = factory.CreateClient();
            var crl = new X509CrlParser().ReadCrl(await client.GetByteArrayAsync("/pki/crl"));
            crl.Verify(hierarchy.Issuing.Certificate.GetPublicKey()); // the CRL too
            Assert.NotNull(crl.GetRevokedCertificate(certificate.SerialNumber));
        }

        using var restarted = new PkiApiFactory(dataDirectory, settings: settings);
        var again = restarted.Services.GetRequiredService<CaHierarchy>();
        Assert.Equal((rootFingerprint, issuingFingerprint), (again.Root.Fingerprint, again.Issuing.Fingerprint));
        Assert.Empty(again.Created);
    }

    /// <summary>The delegated OCSP responder keys stay in software by default; <c>Pkcs11:OcspResponderKeys=Token</c> puts them in the token.</summary>
    [SkippableTheory]
    [InlineData(null, false)]
    [InlineData("Token", true)]
    public async Task Start_OcspResponderKeysSetting_PutsResponderKeysInSoftwareOrToken(string? setting, bool inToken)
    {
        var settings = Settings(softHsm.CreateToken(), SoftHsm.Pin);
        settings["Pkcs11:OcspResponderKeys"] = setting;
        using var factory = new PkiApiFactory(settings: settings);

        var responder = factory.Services.GetRequiredService<PkiService.Api.Features.Ocsp.OcspResponderSet>().IssuingResponder;

        var exported = Record.Exception(() => responder.PrivateKey.ExportParameters(includePrivateParameters: true));
        Assert.Equal(inToken, exported is CryptographicException);
        using var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }

    [SkippableFact]
    public void Start_WrongPin_IsRefusedWithOneLineNamingThePinKeyAndNotThePin()
    {
        var label = softHsm.CreateToken();
        using var factory = new PkiApiFactory(settings: Settings(label, "not-the-pin-1234"));

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        var refusal = ExceptionChain.Of(error).OfType<StartupConfigurationException>().Single();
        Assert.Contains("Pkcs11:Pin", refusal.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-pin-1234", refusal.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refusal.Message);
    }

    /// <summary>
    /// Switching an existing deployment's <c>Pki:KeyStore</c> from File to Pkcs11 must not quietly make a new CA in the
    /// token (every certificate issued so far would stop verifying): the start is refused and nothing is created.
    /// </summary>
    [SkippableFact]
    public void Start_Pkcs11OnDataDirectoryWhoseCaKeysAreInFiles_IsRefusedAndCreatesNoCaInTheToken()
    {
        var label = softHsm.CreateToken();
        string dataDirectory;
        string rootFingerprint;
        using (var fileStore = new PkiApiFactory())
        {
            dataDirectory = fileStore.DataDirectory;
            rootFingerprint = fileStore.Services.GetRequiredService<CaHierarchy>().Root.Fingerprint;
        }

        using (var switched = new PkiApiFactory(dataDirectory, settings: Settings(label, SoftHsm.Pin)))
        {
            var error = Assert.ThrowsAny<Exception>(() => switched.CreateClient());
            var refusal = ExceptionChain.Of(error).OfType<StartupConfigurationException>().Single();
            Assert.Contains("Pki:KeyStore is Pkcs11", refusal.Message, StringComparison.Ordinal);
            Assert.Contains("root-ca", refusal.Message, StringComparison.Ordinal);
        }
        using (var provider = new PkiService.KeyStore.Pkcs11.Pkcs11CaKeyProvider(SoftHsm.Options(label)))
        {
            Assert.Null(provider.TryLoad(CaHierarchy.RootName));
            Assert.Null(provider.TryLoad(CaHierarchy.IssuingName));
        }
        using var back = new PkiApiFactory(dataDirectory);
        Assert.Equal(rootFingerprint, back.Services.GetRequiredService<CaHierarchy>().Root.Fingerprint);
    }

    [SkippableFact]
    public void Start_TokenLabelOfAnotherEmptyTokenOnDeploymentThatRan_IsRefusedAndCreatesNoCa()
    {
        var first = softHsm.CreateToken();
        var other = softHsm.CreateToken();
        string dataDirectory;
        string rootFingerprint;
        using (var factory = new PkiApiFactory(settings: Settings(first, SoftHsm.Pin)))
        {
            dataDirectory = factory.DataDirectory;
            rootFingerprint = factory.Services.GetRequiredService<CaHierarchy>().Root.Fingerprint;
        }

        using (var switched = new PkiApiFactory(dataDirectory, settings: Settings(other, SoftHsm.Pin)))
        {
            var error = Assert.ThrowsAny<Exception>(() => switched.CreateClient());
            var refusal = ExceptionChain.Of(error).OfType<StartupConfigurationException>().Single();
            Assert.StartsWith("Pkcs11:TokenLabel names a token that holds no CA key", refusal.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(SoftHsm.Pin, refusal.Message, StringComparison.Ordinal);
        }
        using (var provider = new PkiService.KeyStore.Pkcs11.Pkcs11CaKeyProvider(SoftHsm.Options(other)))
        {
            Assert.Null(provider.TryLoad(CaHierarchy.RootName));
            Assert.Null(provider.TryLoad(CaHierarchy.IssuingName));
        }
        using var back = new PkiApiFactory(dataDirectory, settings: Settings(first, SoftHsm.Pin));
        Assert.Equal(rootFingerprint, back.Services.GetRequiredService<CaHierarchy>().Root.Fingerprint);
    }

    [Fact]
    public void Start_UnknownKeyStore_IsRefusedWithOneLineNamingTheKey()
    {
        using var factory = new PkiApiFactory(settings: new Dictionary<string, string?> { ["Pki:KeyStore"] = "Vault" });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        var refusal = ExceptionChain.Of(error).OfType<StartupConfigurationException>().Single();
        Assert.StartsWith("Pki:KeyStore is 'Vault'", refusal.Message, StringComparison.Ordinal);
    }

    private static Dictionary<string, string?> Settings(string label, string pin) => new()
    {
        ["Pki:KeyStore"] = "Pkcs11",
        ["Pkcs11:Library"] = SoftHsm.LibraryPath,
        ["Pkcs11:TokenLabel"] = label,
        ["Pkcs11:Pin"] = pin,
    };

}
