using System.Security.Cryptography;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Nist;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto;

namespace PkiService.Core.Authorities;

/// <summary>
/// A BouncyCastle <see cref="ISignatureFactory"/> that signs with a System.Security.Cryptography key.
/// BouncyCastle builds the TBS structures; the signature itself is made by the platform (OpenSSL on Linux),
/// which is several times faster than BouncyCastle's managed signer. This is also the seam where an HSM plugs in.
/// </summary>
public sealed class DotNetSignatureFactory : ISignatureFactory
{
    private readonly AsymmetricAlgorithm _key;
    private readonly HashAlgorithmName _hash;
    private readonly AlgorithmIdentifier _algorithm;

    public DotNetSignatureFactory(AsymmetricAlgorithm key)
    {
        ArgumentNullException.ThrowIfNull(key);
        _key = key;
        (_hash, _algorithm) = key switch
        {
            // RFC 5758 3.2: ECDSA with SHA-2; the hash follows the curve's strength.
            ECDsa ec when ec.KeySize <= 256 => (HashAlgorithmName.SHA256, new AlgorithmIdentifier(X9ObjectIdentifiers.ECDsaWithSha256)),
            ECDsa ec when ec.KeySize <= 384 => (HashAlgorithmName.SHA384, new AlgorithmIdentifier(X9ObjectIdentifiers.ECDsaWithSha384)),
            ECDsa => (HashAlgorithmName.SHA512, new AlgorithmIdentifier(X9ObjectIdentifiers.ECDsaWithSha512)),
            // RFC 4055 5: sha256WithRSAEncryption carries NULL parameters.
            RSA => (HashAlgorithmName.SHA256, new AlgorithmIdentifier(PkcsObjectIdentifiers.Sha256WithRsaEncryption, DerNull.Instance)),
            _ => throw new NotSupportedException($"Keys of type {key.GetType().Name} cannot sign certificates."),
        };
    }

    /// <inheritdoc />
    public object AlgorithmDetails => _algorithm;

    /// <inheritdoc />
    public IStreamCalculator<IBlockResult> CreateCalculator() => new Calculator(this);

    /// <summary>Signs <paramref name="data"/> directly, producing an X.509 signature value.</summary>
    public byte[] Sign(ReadOnlySpan<byte> data) => _key switch
    {
        // X.509 carries ECDSA signatures as DER SEQUENCE { r, s } (RFC 3279 2.2.3).
        ECDsa ec => ec.SignData(data, _hash, DSASignatureFormat.Rfc3279DerSequence),
        RSA rsa => rsa.SignData(data.ToArray(), _hash, RSASignaturePadding.Pkcs1),
        _ => throw new NotSupportedException(),
    };

    private sealed class Calculator(DotNetSignatureFactory owner) : IStreamCalculator<IBlockResult>
    {
        private readonly MemoryStream _buffer = new();

        public Stream Stream => _buffer;

        // BouncyCastle closes the stream before asking for the result; ToArray still works on a closed MemoryStream.
        public IBlockResult GetResult() => new SimpleBlockResult(owner.Sign(_buffer.ToArray()));
    }
}
