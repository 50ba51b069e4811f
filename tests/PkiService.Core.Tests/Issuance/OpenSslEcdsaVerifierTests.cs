using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PkiService.Core.Errors;
using PkiService.Core.Issuance;

namespace PkiService.Core.Tests.Issuance;

/// <summary>The direct libcrypto ECDSA verifier gives the same verdict as .NET's for every CSR, good or bad.</summary>
public sealed class OpenSslEcdsaVerifierTests
{
    public static TheoryData<string, string> Curves => new()
    {
        { "P-256", "SHA256" }, { "P-256", "SHA384" }, { "P-256", "SHA512" },
        { "P-384", "SHA256" }, { "P-384", "SHA384" }, { "P-384", "SHA512" },
    };

    [Fact]
    public void IsAvailable_OnLinuxWithLibcrypto_True()
    {
        if (OperatingSystem.IsLinux() && File.Exists("/usr/bin/openssl"))
        {
            Assert.True(OpenSslEcdsaVerifier.IsAvailable); // else every CSR would quietly take the slow path
        }
    }

    [Theory]
    [MemberData(nameof(Curves))]
    public void TryVerify_GoodSignature_TrueAsDotNet(string curve, string hash)
    {
        using var key = ECDsa.Create(curve == "P-256" ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP384);
        var data = RandomNumberGenerator.GetBytes(300);
        var signature = key.SignData(data, new HashAlgorithmName(hash), DSASignatureFormat.Rfc3279DerSequence);
        var point = Point(key);

        Assert.True(OpenSslEcdsaVerifier.TryVerify(point, key.KeySize, data, signature, new HashAlgorithmName(hash)));
        data[7] ^= 1;
        Assert.False(OpenSslEcdsaVerifier.TryVerify(point, key.KeySize, data, signature, new HashAlgorithmName(hash)));
        Assert.False(key.VerifyData(data, signature, new HashAlgorithmName(hash), DSASignatureFormat.Rfc3279DerSequence));
    }

    [Fact]
    public void TryVerify_OtherKeyPointOffCurveOrMalformedSignature_False()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var data = RandomNumberGenerator.GetBytes(100);
        var signature = key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);

        Assert.False(OpenSslEcdsaVerifier.TryVerify(Point(other), 256, data, signature, HashAlgorithmName.SHA256));
        var offCurve = Point(key);
        offCurve[^1] ^= 1;
        Assert.False(OpenSslEcdsaVerifier.TryVerify(offCurve, 256, data, signature, HashAlgorithmName.SHA256));
        Assert.False(OpenSslEcdsaVerifier.TryVerify(Point(key), 256, data, signature[..^1], HashAlgorithmName.SHA256));
        var notDer = (byte[])signature.Clone();
        notDer[1] = 0x81; // a long-form length where DER requires the short form
        Assert.False(OpenSslEcdsaVerifier.TryVerify(Point(key), 256, data, notDer, HashAlgorithmName.SHA256));
    }

    [Fact]
    public void TryVerify_CompressedPointOrOtherCurve_NullSoDotNetDecides()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var data = RandomNumberGenerator.GetBytes(100);
        var signature = key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        var point = Point(key);
        var compressed = new byte[33];
        compressed[0] = (byte)(0x02 | (point[^1] & 1));
        point.AsSpan(1, 32).CopyTo(compressed.AsSpan(1));

        Assert.Null(OpenSslEcdsaVerifier.TryVerify(compressed, 256, data, signature, HashAlgorithmName.SHA256));
        Assert.Null(OpenSslEcdsaVerifier.TryVerify(point, 521, data, signature, HashAlgorithmName.SHA256));
    }

    [Theory]
    [InlineData("P-256")]
    [InlineData("P-384")]
    public void FromPem_TamperedEcdsaCsr_RejectedByBothVerifiers(string curve)
    {
        using var key = ECDsa.Create(curve == "P-256" ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP384);
        var der = new CertificateRequest("CN=svc", key, HashAlgorithmName.SHA256).CreateSigningRequest();
        Assert.Equal("svc", CertificationRequest.FromDer(der).CommonName);
        Assert.Equal("svc", CertificationRequest.FromDer(der, platformVerifier: true).CommonName);

        var tampered = (byte[])der.Clone();
        var at = tampered.AsSpan().IndexOf("svc"u8);
        tampered[at] = (byte)'x';
        Assert.Contains("does not verify", Assert.Throws<CsrRejectedException>(() => CertificationRequest.FromDer(tampered)).Message);
        Assert.Contains("does not verify", Assert.Throws<CsrRejectedException>(() => CertificationRequest.FromDer(tampered, platformVerifier: true)).Message);
    }

    private static byte[] Point(ECDsa key)
    {
        var parameters = key.ExportParameters(false);
        return [0x04, .. parameters.Q.X!, .. parameters.Q.Y!];
    }
}
