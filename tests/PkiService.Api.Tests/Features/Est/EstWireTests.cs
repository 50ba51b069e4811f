using System.ComponentModel;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Org.BouncyCastle.Cms;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using PkiService.Api.Features.Est;
using PkiService.Api.Tests.Support;
using PkiService.Core.Errors;
using PkiService.Core.Issuance;

namespace PkiService.Api.Tests.Features.Est;

/// <summary>The EST wire pieces alone (no host): body decoding, credentials, CMS, csrattrs, base64 lines, serverkeygen.</summary>
public sealed class EstWireTests
{
    private static readonly string CsrPem = Csrs.P256("device-1", "spiffe://example.org/device-1");
    private static readonly byte[] CsrDer = Der(CsrPem);

    public static TheoryData<string, string> LenientBodies => new()
    {
        { "one line", Convert.ToBase64String(CsrDer) },
        { "64-char LF lines", Lines(Convert.ToBase64String(CsrDer), 64, "\n") },
        { "76-char CRLF lines", Lines(Convert.ToBase64String(CsrDer), 76, "\r\n") },
        { "trailing whitespace", Convert.ToBase64String(CsrDer) + " \r\n\t\n" },
        { "PEM", CsrPem },
        { "PEM with CRLF", CsrPem.ReplaceLineEndings("\r\n") },
        { "NEW CERTIFICATE REQUEST", CsrPem.Replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST", StringComparison.Ordinal) },
    };

    [Theory]
    [MemberData(nameof(LenientBodies))]
    public void DecodeCsr_Rfc8951Forms_YieldTheDer(string form, string body)
    {
        Assert.True(CsrDer.AsSpan().SequenceEqual(EstRequestBody.DecodeCsr(Encoding.ASCII.GetBytes(body))), form);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   \r\n", "empty")]
    [InlineData("not*base64!", "not valid base64")]
    [InlineData("-----BEGIN CERTIFICATE REQUEST-----\nMIIB", "not a complete PEM block")]
    public void DecodeCsr_Junk_IsRefusedSayingWhy(string body, string reason)
    {
        var error = Assert.Throws<CsrRejectedException>(() => EstRequestBody.DecodeCsr(Encoding.ASCII.GetBytes(body)));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.Contains("base64 of the DER PKCS#10", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DecodeCsr_PemOfAnotherKind_IsRefusedNamingIt()
    {
        var pem = PemEncoding.WriteString("CERTIFICATE", CsrDer);

        var error = Assert.Throws<CsrRejectedException>(() => EstRequestBody.DecodeCsr(Encoding.ASCII.GetBytes(pem)));

        Assert.Contains("'CERTIFICATE', not a 'CERTIFICATE REQUEST'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DecodeCsr_RawDer_IsRefusedAsBinary()
    {
        var error = Assert.Throws<CsrRejectedException>(() => EstRequestBody.DecodeCsr(CsrDer));

        Assert.Contains("base64", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Basic dXNlcjpwa2lfZXRfc2VjcmV0", "pki_et_secret")] // user:pki_et_secret
    [InlineData("basic OnBraV9ldF9zZWNyZXQ=", "pki_et_secret")] // :pki_et_secret, scheme in lower case
    [InlineData("Basic dTpwYTpzcw==", "pa:ss")] // u:pa:ss, the password may hold a colon (RFC 7617 2)
    [InlineData("Bearer pki_et_secret", "pki_et_secret")]
    [InlineData("Basic cGtpX2V0X3NlY3JldA==", null)] // no colon: not user:password
    [InlineData("Basic dXNlcjo=", null)] // user: (empty password)
    [InlineData("Basic !!!", null)]
    [InlineData("Digest username=\"x\"", null)]
    [InlineData(null, null)]
    public void ReadToken_BasicPasswordOrBearer(string? header, string? token)
    {
        Assert.Equal(token, EstAuthorization.ReadToken(header));
    }

    [Fact]
    public void CertsOnly_HoldsTheCertificatesWithoutSignersOrContent()
    {
        using var first = SelfSigned("first");
        using var second = SelfSigned("second");

        var der = EstCertificates.CertsOnly(first.RawData, second.RawData);

        var signed = new CmsSignedData(der);
        Assert.Equal(
            new[] { first.RawData, second.RawData }.Select(Convert.ToHexString).Order(),
            signed.GetCertificates().EnumerateMatches(null).Select(c => Convert.ToHexString(c.GetEncoded())).Order());
        Assert.Empty(signed.GetSignerInfos().GetSigners());
        Assert.Null(signed.SignedContent);
        Assert.Equal("1.2.840.113549.1.7.2", signed.ContentInfo.ContentType.Id); // id-signedData
        var lines = OpenSsl(der, "pkcs7", "-inform", "DER", "-print_certs", "-noout");
        if (lines is not null)
        {
            Assert.Contains("subject=CN = first", lines, StringComparison.Ordinal);
            Assert.Contains("subject=CN = second", lines, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void CsrAttributes_AreExactlyEcdsaWithSha256AndP256()
    {
        Assert.Equal(
            "3021" + "06082A8648CE3D040302" + "3015" + "06072A8648CE3D0201" + "310A" + "06082A8648CE3D030107",
            Convert.ToHexString(EstCsrAttributes.Der));
        var parsed = OpenSsl(EstCsrAttributes.Der, "asn1parse", "-inform", "DER");
        if (parsed is not null)
        {
            Assert.Contains("ecdsa-with-SHA256", parsed, StringComparison.Ordinal);
            Assert.Contains("id-ecPublicKey", parsed, StringComparison.Ordinal);
            Assert.Contains("prime256v1", parsed, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(48)]
    [InlineData(49)]
    [InlineData(1000)]
    public void Base64_LinesOf64CharactersEachEndedByTheLineBreak(int length)
    {
        var data = RandomNumberGenerator.GetBytes(length);

        var text = Encoding.ASCII.GetString(EstBase64.Encode(data));

        Assert.Equal(data, Convert.FromBase64String(text));
        Assert.True(length == 0 ? text.Length == 0 : text.EndsWith('\n'));
        var lines = text.Split('\n')[..^1];
        Assert.All(lines.SkipLast(1), line => Assert.Equal(64, line.Length));
        Assert.All(lines, line => Assert.InRange(line.Length, 1, 64));
        Assert.DoesNotContain("\r", text, StringComparison.Ordinal);
        Assert.Equal(text.Replace("\n", "\r\n", StringComparison.Ordinal), Encoding.ASCII.GetString(EstBase64.Encode(data, "\r\n")));
    }

    public static TheoryData<string, string> ClientCsrs => new()
    {
        { "ECDSA P-256", Csrs.P256("device-1", "spiffe://example.org/device-1") },
        { "ECDSA P-384", Csrs.Ecdsa("device-1", ECCurve.NamedCurves.nistP384, "spiffe://example.org/device-1") },
        { "RSA-2048", Csrs.Rsa("device-1", 2048) },
        { "Ed25519", Csrs.Ed25519("device-1") },
    };

    [Theory]
    [MemberData(nameof(ClientCsrs))]
    public void ServerKey_NewKeyOfTheSameKind_SameNames_Pkcs8MatchesTheCsr(string kind, string clientPem)
    {
        var client = CertificationRequest.FromPem(clientPem);
        using var serverKey = new EstServerKey();

        var request = serverKey.Generate(Der(clientPem));
        var pkcs8 = serverKey.ExportPkcs8();

        Assert.Equal(kind, request.KeyDescription);
        Assert.False(request.HasSameKeyAs(client.PublicKeyInfo));
        Assert.Equal(client.CommonName, request.CommonName);
        Assert.Equal(client.SubjectAltNames, request.SubjectAltNames);
        var privateKey = PrivateKeyFactory.CreateKey(pkcs8);
        var publicKey = privateKey switch
        {
            Org.BouncyCastle.Crypto.Parameters.Ed25519PrivateKeyParameters ed => (Org.BouncyCastle.Crypto.AsymmetricKeyParameter)ed.GeneratePublicKey(),
            Org.BouncyCastle.Crypto.Parameters.RsaPrivateCrtKeyParameters rsa => new Org.BouncyCastle.Crypto.Parameters.RsaKeyParameters(false, rsa.Modulus, rsa.PublicExponent),
            Org.BouncyCastle.Crypto.Parameters.ECPrivateKeyParameters ec => new Org.BouncyCastle.Crypto.Parameters.ECPublicKeyParameters(
                ec.Parameters.G.Multiply(ec.D).Normalize(), ec.Parameters),
            _ => throw new InvalidOperationException(privateKey.GetType().Name),
        };
        Assert.True(request.HasSameKeyAs(SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(publicKey)));
    }

    [Fact]
    public void ServerKey_TamperedClientCsr_IsRefusedBeforeAnyKeyIsMade()
    {
        using var serverKey = new EstServerKey();

        Assert.Throws<CsrRejectedException>(() => serverKey.Generate(Der(Csrs.Tampered("device-1"))));
        Assert.Throws<InvalidOperationException>(serverKey.ExportPkcs8);
    }

    [Fact]
    public void ServerKeyAnswer_TwoPartsInOrderWithCrlfLines()
    {
        var pkcs8 = RandomNumberGenerator.GetBytes(100);
        var cms = RandomNumberGenerator.GetBytes(70);

        var body = Encoding.ASCII.GetString(EstServerKeyAnswer.Body("b0undary", pkcs8, cms));

        var expected = "--b0undary\r\nContent-Type: application/pkcs8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + Lines(Convert.ToBase64String(pkcs8), 64, "\r\n")
            + "--b0undary\r\nContent-Type: application/pkcs7-mime; smime-type=certs-only\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + Lines(Convert.ToBase64String(cms), 64, "\r\n")
            + "--b0undary--\r\n";
        Assert.Equal(expected, body);
    }

    private static byte[] Der(string pem) => PemEncoding.TryFind(pem, out var fields)
        ? Convert.FromBase64String(pem[fields.Base64Data])
        : throw new ArgumentException("not PEM", nameof(pem));

    private static string Lines(string base64, int width, string lineBreak) =>
        string.Concat(base64.Chunk(width).Select(chunk => new string(chunk) + lineBreak));

    private static X509Certificate2 SelfSigned(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
    }

    /// <summary>Runs openssl with <paramref name="input"/> on stdin; null when it is not installed (outside CI, where it must be).</summary>
    internal static string? OpenSsl(byte[] input, params string[] arguments)
    {
        var start = new ProcessStartInfo("openssl") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        try
        {
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            process.StandardInput.BaseStream.Write(input);
            process.StandardInput.Close();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"openssl {string.Join(' ', arguments)}: {error.Result}");
            return output.Result;
        }
        catch (Win32Exception) when (!string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
    }
}
