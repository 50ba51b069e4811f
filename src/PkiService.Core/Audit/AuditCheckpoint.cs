using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Security;
using PkiService.Core.Authorities;
using PkiService.Core.Errors;

namespace PkiService.Core.Audit;

/// <summary>What a checkpoint states: at <paramref name="Time"/> the audit trail ended with row <paramref name="Id"/>, whose hash was <paramref name="Hash"/>.</summary>
/// <param name="Id">The newest row's id.</param>
/// <param name="Hash">That row's chain hash (32 bytes).</param>
/// <param name="Time">When the checkpoint was signed (whole seconds, UTC).</param>
/// <param name="Issuer">The signing CA's subject.</param>
/// <param name="IssuerSha256">Hex SHA-256 of the signing CA's certificate.</param>
public sealed record AuditCheckpointStatement(long Id, byte[] Hash, DateTimeOffset Time, string Issuer, string IssuerSha256);

/// <summary>A checkpoint as handed to an operator.</summary>
/// <param name="Statement">What it says.</param>
/// <param name="SignedData">The exact bytes signed: compact UTF-8 JSON (see <see cref="AuditCheckpoints.Format"/>).</param>
/// <param name="Signature">The signature over <paramref name="SignedData"/>: DER ECDSA-Sig-Value (RFC 3279 2.2.3) or PKCS#1 v1.5.</param>
/// <param name="SignatureAlgorithm">e.g. <c>ecdsa-with-SHA256</c>.</param>
/// <param name="Digest">The digest to name to <c>openssl dgst</c>: <c>sha256</c>, <c>sha384</c> or <c>sha512</c>.</param>
/// <param name="SignerCertificatePem">The signing CA's certificate.</param>
public sealed record SignedAuditCheckpoint(
    AuditCheckpointStatement Statement, byte[] SignedData, byte[] Signature, string SignatureAlgorithm, string Digest, string SignerCertificatePem);

/// <summary>
/// Signed checkpoints of the audit trail: a statement of the newest row's id and hash, signed by a CA of this
/// service, that an operator keeps elsewhere. Truncation (the newest rows deleted) leaves a chain that verifies, but
/// not one that still holds a checkpoint's row with the checkpoint's hash.
/// </summary>
/// <remarks>
/// The signed bytes are JSON the service writes itself, never caller data, and begin with <c>{</c>, so they cannot be
/// mistaken for a DER structure (a TBSCertificate or TBSCertList begins with 0x30) signed by the same key.
/// </remarks>
public static class AuditCheckpoints
{
    /// <summary>The value of the <c>format</c> member of the signed JSON.</summary>
    public const string Format = "pkiservice-audit-checkpoint/1";

    /// <summary>Upper bound on the signed bytes this service writes and will read back.</summary>
    public const int MaxSignedDataBytes = 2048;

    /// <summary>Signs a statement that row <paramref name="id"/>, with hash <paramref name="hash"/>, was the newest at <paramref name="time"/>.</summary>
    public static SignedAuditCheckpoint Sign(long id, byte[] hash, DateTimeOffset time, CertificateAuthority signer)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(id, 1);
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(signer);
        var statement = new AuditCheckpointStatement(id, hash, new DateTimeOffset(time.UtcTicks - time.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero),
            signer.Subject.ToString(), signer.Fingerprint.ToLowerInvariant());
        var signedData = Encode(statement);
        var calculator = signer.SignatureFactory.CreateCalculator();
        using (var stream = calculator.Stream)
        {
            stream.Write(signedData);
        }
        var signature = calculator.GetResult().Collect();
        var (name, digest) = Describe((AlgorithmIdentifier)signer.SignatureFactory.AlgorithmDetails);
        return new SignedAuditCheckpoint(statement, signedData, signature, name, digest, signer.Pem);
    }

    /// <summary>
    /// Verifies <paramref name="signature"/> over <paramref name="signedData"/> with <paramref name="signer"/>'s public key
    /// and reads the statement. Throws <see cref="InvalidRequestException"/> naming what is wrong.
    /// </summary>
    public static AuditCheckpointStatement Open(byte[] signedData, byte[] signature, CertificateAuthority signer)
    {
        ArgumentNullException.ThrowIfNull(signedData);
        ArgumentNullException.ThrowIfNull(signature);
        ArgumentNullException.ThrowIfNull(signer);
        if (signedData.Length > MaxSignedDataBytes || !Verifies(signedData, signature, signer))
        {
            throw new InvalidRequestException(
                $"The checkpoint's signature does not verify with this service's {signer.Subject} certificate: present signedData and signature exactly as GET /api/v1/audit/checkpoint returned them.");
        }
        // Signed by us, so well-formed unless it comes from another format version.
        try
        {
            using var json = JsonDocument.Parse(signedData);
            var root = json.RootElement;
            if (root.GetProperty("format").GetString() != Format)
            {
                throw new InvalidRequestException($"The checkpoint is not in format {Format}.");
            }
            return new AuditCheckpointStatement(
                root.GetProperty("id").GetInt64(),
                Convert.FromHexString(root.GetProperty("hash").GetString()!),
                DateTimeOffset.Parse(root.GetProperty("time").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
                root.GetProperty("issuer").GetString()!,
                root.GetProperty("issuerSha256").GetString()!);
        }
        catch (Exception exception) when (exception is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidRequestException($"The checkpoint's signed data is not in format {Format}.");
        }
    }

    private static byte[] Encode(AuditCheckpointStatement statement)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("format", Format);
            writer.WriteNumber("id", statement.Id);
            writer.WriteString("hash", Convert.ToHexStringLower(statement.Hash));
            writer.WriteString("time", statement.Time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
            writer.WriteString("issuer", statement.Issuer);
            writer.WriteString("issuerSha256", statement.IssuerSha256);
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static bool Verifies(byte[] signedData, byte[] signature, CertificateAuthority signer)
    {
        var verifier = SignerUtilities.GetSigner(((AlgorithmIdentifier)signer.SignatureFactory.AlgorithmDetails).Algorithm);
        verifier.Init(false, signer.Certificate.GetPublicKey());
        verifier.BlockUpdate(signedData, 0, signedData.Length);
        try
        {
            return verifier.VerifySignature(signature);
        }
        catch (Exception exception) when (exception is ArgumentException or InvalidOperationException or IOException or CryptographicException
            or Org.BouncyCastle.Crypto.CryptoException)
        {
            return false; // not a DER ECDSA-Sig-Value, or not an RSA block of the right size
        }
    }

    /// <summary>The algorithms <see cref="DotNetSignatureFactory"/> signs with, by the names openssl knows them.</summary>
    private static readonly Dictionary<string, (string Name, string Digest)> Algorithms = new()
    {
        [X9ObjectIdentifiers.ECDsaWithSha256.Id] = ("ecdsa-with-SHA256", "sha256"),
        [X9ObjectIdentifiers.ECDsaWithSha384.Id] = ("ecdsa-with-SHA384", "sha384"),
        [X9ObjectIdentifiers.ECDsaWithSha512.Id] = ("ecdsa-with-SHA512", "sha512"),
        [PkcsObjectIdentifiers.Sha256WithRsaEncryption.Id] = ("sha256WithRSAEncryption", "sha256"),
    };

    private static (string Name, string Digest) Describe(AlgorithmIdentifier algorithm) =>
        Algorithms.TryGetValue(algorithm.Algorithm.Id, out var described)
            ? described
            : throw new NotSupportedException($"Checkpoints cannot name signature algorithm {algorithm.Algorithm.Id}.");
}
