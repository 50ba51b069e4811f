using PkiService.Core.Errors;
using PkiService.Core.Issuance;
using PkiService.Core.Tests.TestSupport;

namespace PkiService.Core.Tests.Issuance;

/// <summary>
/// CSR signature algorithms against openssl, with CSRs made by the openssl command line: every RSA-PSS shape openssl
/// writes verifies (as <c>openssl req -verify</c> says), and MD5 or SHA-1 signatures are refused although they verify.
/// </summary>
public sealed class CsrSignatureAlgorithmTests(OpenSslCsrs openssl) : IClassFixture<OpenSslCsrs>
{
    private static readonly string[] Pss = ["-sigopt", "rsa_padding_mode:pss"];

    public static TheoryData<string, string[], string> AcceptedPss => new()
    {
        { "rsa.key", [.. Pss], "RSA-2048" },
        { "rsa.key", [.. Pss, "-sigopt", "rsa_pss_saltlen:32"], "RSA-2048" },
        { "rsa.key", [.. Pss, "-sigopt", "rsa_pss_saltlen:-1"], "RSA-2048" },
        { "rsa.key", [.. Pss, "-sigopt", "rsa_pss_saltlen:max"], "RSA-2048" },
        { "rsa.key", [.. Pss, "-sigopt", "rsa_pss_saltlen:0"], "RSA-2048" },
        { "rsa.key", [.. Pss, "-sha384"], "RSA-2048" },
        { "rsa.key", [.. Pss, "-sha512"], "RSA-2048" },
        { "rsa.key", [.. Pss, "-sha512", "-sigopt", "rsa_pss_saltlen:-1"], "RSA-2048" },
        { "rsa.key", [.. Pss, "-sha384", "-sigopt", "rsa_pss_saltlen:max"], "RSA-2048" },
        { "rsa-pss.key", [], "RSA-PSS-2048" },
        { "rsa-pss.key", ["-sha384"], "RSA-PSS-2048" },
        { "rsa-pss.key", ["-sha512", "-sigopt", "rsa_pss_saltlen:-1"], "RSA-PSS-2048" },
        { "rsa-pss-sha256.key", [], "RSA-PSS-2048" },
        { "rsa-pss-sha256.key", ["-sigopt", "rsa_pss_saltlen:max"], "RSA-PSS-2048" },
    };

    [Theory]
    [MemberData(nameof(AcceptedPss))]
    public void FromPem_OpensslRsaPssCsr_VerifiesAsOpensslDoes(string key, string[] options, string description)
    {
        if (!OpenSsl.IsAvailable)
        {
            return; // xunit 2 has no runtime skip; the interop suite requires openssl anyway
        }
        var pem = openssl.Create(key, "pss-client", options);
        Assert.True(openssl.OpenSslVerifies(pem), "openssl req -verify refuses the CSR it made");

        var request = CertificationRequest.FromPem(pem);

        Assert.Equal(description, request.KeyDescription);
        Assert.Equal("pss-client", request.CommonName);
    }

    [Theory]
    [InlineData("rsa.key")]
    [InlineData("rsa-pss.key")]
    public void FromPem_OpensslRsaPssCsrWithAlteredSignature_IsRefusedAsOpensslDoes(string key)
    {
        if (!OpenSsl.IsAvailable)
        {
            return;
        }
        var pem = openssl.Create(key, "pss-client", key == "rsa.key" ? Pss : []);
        var der = Convert.FromBase64String(pem[System.Security.Cryptography.PemEncoding.Find(pem).Base64Data]);
        der[^10] ^= 0x01; // inside the signature
        var altered = System.Security.Cryptography.PemEncoding.WriteString("CERTIFICATE REQUEST", der);
        Assert.False(openssl.OpenSslVerifies(altered));

        var error = Assert.Throws<CsrRejectedException>(() => CertificationRequest.FromPem(altered));
        Assert.Contains("signature does not verify", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string[], string> RefusedAlgorithms => new()
    {
        { "rsa.key", ["-md5"], "md5WithRSAEncryption (MD5)" },
        { "rsa.key", ["-sha1"], "sha1WithRSAEncryption (SHA-1)" },
        { "ec.key", ["-sha1"], "ecdsa-with-SHA1 (SHA-1)" },
        { "rsa.key", ["-sha224"], "sha224WithRSAEncryption" },
        { "rsa.key", [.. Pss, "-sha1"], "RSASSA-PSS with SHA-1" },
        { "rsa-pss.key", ["-sha1"], "RSASSA-PSS with SHA-1" },
        { "rsa.key", [.. Pss, "-sigopt", "rsa_mgf1_md:sha1"], "MGF1 with SHA-1" },
        { "rsa.key", [.. Pss, "-sha512", "-sigopt", "rsa_mgf1_md:sha256"], "MGF1 with SHA-256" },
        { "rsa-pss-mgf1-sha1.key", [], "MGF1 with SHA-1" },
    };

    [Theory]
    [MemberData(nameof(RefusedAlgorithms))]
    public void FromPem_WeakOrMismatchedSignatureAlgorithm_IsRefusedNamingItAndTheFix(string key, string[] options, string named)
    {
        if (!OpenSsl.IsAvailable)
        {
            return;
        }
        var pem = openssl.Create(key, "weak-client", options);
        Assert.True(openssl.OpenSslVerifies(pem), "the signature itself is valid: the refusal is about the algorithm");

        var error = Assert.Throws<CsrRejectedException>(() => CertificationRequest.FromPem(pem));

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
        Assert.Contains("SHA-256", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("does not verify", error.Message, StringComparison.Ordinal);
    }
}
