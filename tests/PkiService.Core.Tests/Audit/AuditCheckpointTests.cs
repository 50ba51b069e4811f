using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using PkiService.Core.Audit;
using PkiService.Core.Authorities;
using PkiService.Core.Errors;
using PkiService.Core.Tests.TestSupport;

namespace PkiService.Core.Tests.Audit;

public sealed class AuditCheckpointTests(CaFixture ca) : IClassFixture<CaFixture>
{
    private static readonly byte[] RowHash = SHA256.HashData("row 42"u8);

    [Theory]
    [InlineData(CaKeyAlgorithm.EcdsaP256, "sha256")]
    [InlineData(CaKeyAlgorithm.EcdsaP384, "sha384")]
    [InlineData(CaKeyAlgorithm.Rsa2048, "sha256")]
    public void Sign_EachIssuingKeyAlgorithm_VerifiesWithOpenSslDgstAndDotNet(CaKeyAlgorithm algorithm, string digest)
    {
        using var hierarchy = CaHierarchy.LoadOrCreate(new FileCaKeyProvider(new InMemoryCaKeyStore(), CaFixture.Passphrase, 1_000),
            new CaHierarchyOptions { IssuingAlgorithm = algorithm }, ca.Clock(), NullLogger.Instance);

        var checkpoint = AuditCheckpoints.Sign(42, RowHash, ca.Now, hierarchy.Issuing);

        Assert.Equal(digest, checkpoint.Digest);
        using var certificate = X509Certificate2.CreateFromPem(checkpoint.SignerCertificatePem);
        var name = new HashAlgorithmName(digest.ToUpperInvariant()); // SHA256, SHA384
        var verified = algorithm == CaKeyAlgorithm.Rsa2048
            ? certificate.GetRSAPublicKey()!.VerifyData(checkpoint.SignedData, checkpoint.Signature, name, RSASignaturePadding.Pkcs1)
            : certificate.GetECDsaPublicKey()!.VerifyData(checkpoint.SignedData, checkpoint.Signature, name, DSASignatureFormat.Rfc3279DerSequence);
        Assert.True(verified);
        if (OpenSsl.IsAvailable)
        {
            using var directory = new TemporaryDirectory();
            // As the README tells an operator: the public key out of the CA certificate, then dgst -verify.
            var publicKey = Path.Combine(directory.Path, "ca.pub");
            var extracted = OpenSsl.Run("x509", "-in", directory.Write("ca.pem", checkpoint.SignerCertificatePem), "-pubkey", "-noout", "-out", publicKey);
            Assert.True(extracted.ExitCode == 0, extracted.Output);
            var (exitCode, output) = OpenSsl.Run("dgst", "-" + digest, "-verify", publicKey,
                "-signature", directory.Write("checkpoint.sig", checkpoint.Signature), directory.Write("checkpoint.json", checkpoint.SignedData));
            Assert.True(exitCode == 0, output);
            Assert.Contains("Verified OK", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Sign_SignedDataIsTheDocumentedJson()
    {
        var checkpoint = AuditCheckpoints.Sign(42, RowHash, ca.Now.AddTicks(1234), ca.Issuing);

        var json = JsonDocument.Parse(checkpoint.SignedData).RootElement;
        Assert.Equal("pkiservice-audit-checkpoint/1", json.GetProperty("format").GetString());
        Assert.Equal(42, json.GetProperty("id").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(RowHash), json.GetProperty("hash").GetString());
        Assert.Equal(ca.Now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture), json.GetProperty("time").GetString());
        Assert.Equal(ca.Issuing.Subject.ToString(), json.GetProperty("issuer").GetString());
        Assert.Equal(ca.Issuing.Fingerprint.ToLowerInvariant(), json.GetProperty("issuerSha256").GetString());
        Assert.Equal("ecdsa-with-SHA256", checkpoint.SignatureAlgorithm);
    }

    [Fact]
    public void Open_UnchangedCheckpoint_ReturnsItsStatement()
    {
        var checkpoint = AuditCheckpoints.Sign(42, RowHash, ca.Now, ca.Issuing);

        var statement = AuditCheckpoints.Open(checkpoint.SignedData, checkpoint.Signature, ca.Issuing);

        Assert.Equal(42, statement.Id);
        Assert.Equal(RowHash, statement.Hash);
        Assert.Equal(ca.Now, statement.Time);
    }

    [Fact]
    public void Open_EditedSignedDataOrAnotherCasSignature_IsRefused()
    {
        var checkpoint = AuditCheckpoints.Sign(42, RowHash, ca.Now, ca.Issuing);
        var edited = (byte[])checkpoint.SignedData.Clone();
        var at = Array.IndexOf(edited, (byte)'4');
        edited[at] = (byte)'5'; // "id":42 -> "id":52
        using var other = CaFixture.CreateHierarchy(new InMemoryCaKeyStore(), ca.Now);
        var foreign = AuditCheckpoints.Sign(42, RowHash, ca.Now, other.Issuing);

        Assert.Contains("does not verify", Assert.Throws<InvalidRequestException>(() => AuditCheckpoints.Open(edited, checkpoint.Signature, ca.Issuing)).Message, StringComparison.Ordinal);
        Assert.Throws<InvalidRequestException>(() => AuditCheckpoints.Open(foreign.SignedData, foreign.Signature, ca.Issuing));
        Assert.Throws<InvalidRequestException>(() => AuditCheckpoints.Open(checkpoint.SignedData, [0x30, 0x03, 0x02, 0x01], ca.Issuing));
    }

    [Theory]
    [InlineData(CaKeyAlgorithm.EcdsaP256)]
    [InlineData(CaKeyAlgorithm.Rsa2048)]
    public void Open_GarbageSignatures_AreRefusedAsBadInput_NeverAnotherException(CaKeyAlgorithm algorithm)
    {
        using var hierarchy = CaHierarchy.LoadOrCreate(new FileCaKeyProvider(new InMemoryCaKeyStore(), CaFixture.Passphrase, 1_000),
            new CaHierarchyOptions { IssuingAlgorithm = algorithm }, ca.Clock(), NullLogger.Instance);
        var checkpoint = AuditCheckpoints.Sign(42, RowHash, ca.Now, hierarchy.Issuing);
        var random = new Random(7);
        List<byte[]> garbage = [[], [0x30], [0x30, 0x80], [0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00], new byte[256], new byte[600]];
        for (var length = 1; length < 300; length += 7)
        {
            var bytes = new byte[length];
            random.NextBytes(bytes);
            garbage.Add(bytes);
            garbage.Add([0x30, (byte)Math.Min(length, 127), .. bytes]);
        }
        var truncated = checkpoint.Signature[..^1];
        garbage.Add(truncated);

        Assert.All(garbage, signature => Assert.Throws<InvalidRequestException>(() => AuditCheckpoints.Open(checkpoint.SignedData, signature, hierarchy.Issuing)));
        Assert.Throws<InvalidRequestException>(() => AuditCheckpoints.Open(new byte[AuditCheckpoints.MaxSignedDataBytes + 1], checkpoint.Signature, hierarchy.Issuing));
    }
}
