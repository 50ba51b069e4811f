using System.Security.Cryptography;
using Net.Pkcs11Interop.Common;

namespace PkiService.KeyStore.Pkcs11;

/// <summary>
/// An RSA private key that lives in a PKCS#11 token: signatures are made inside the module (PKCS #1 v1.5 or PSS over
/// a hash computed in process), verification in software with the public key, and the private key never leaves.
/// Decryption is not offered: a CA key only signs.
/// </summary>
public sealed class Pkcs11Rsa : RSA
{
    private readonly Pkcs11Token _token;
    private readonly RSA _publicKey;

    internal Pkcs11Rsa(Pkcs11Token token, string label, byte[] id, RSAParameters publicParameters)
    {
        _token = token;
        Label = label;
        Id = id;
        _publicKey = RSA.Create(publicParameters);
        LegalKeySizesValue = [new KeySizes(2048, 16384, 8)];
        KeySizeValue = _publicKey.KeySize;
    }

    /// <summary>The key's <c>CKA_LABEL</c> (the CA's name).</summary>
    public string Label { get; }

    /// <summary>The key's <c>CKA_ID</c>, shared by its public key and certificate objects.</summary>
    internal byte[] Id { get; }

    internal Pkcs11Token Token => _token;

    /// <summary>
    /// Signs <paramref name="hash"/> in the token. PKCS #1 v1.5: CKM_RSA_PKCS over the DER DigestInfo of the hash
    /// (RFC 8017 9.2, the module adds only the padding). PSS: CKM_RSA_PKCS_PSS with MGF1 over the same hash and a salt
    /// as long as the hash, as .NET's own PSS signatures use (RFC 8017 9.1).
    /// </summary>
    public override byte[] SignHash(byte[] hash, HashAlgorithmName hashAlgorithm, RSASignaturePadding padding)
    {
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(padding);
        var (prefix, hashMechanism, mgf) = HashParameters(hashAlgorithm);
        if (hash.Length != prefix[^1])
        {
            throw new CryptographicException($"A {hashAlgorithm.Name} hash is {prefix[^1]} bytes, not {hash.Length}.");
        }
        return padding.Mode switch
        {
            RSASignaturePaddingMode.Pkcs1 => _token.Run(session =>
            {
                using var mechanism = _token.Factories.MechanismFactory.Create(CKM.CKM_RSA_PKCS);
                return session.Sign(mechanism, _token.PrivateKey(session, Id, Label), [.. prefix, .. hash]);
            }),
            RSASignaturePaddingMode.Pss => _token.Run(session =>
            {
                var parameters = _token.Factories.MechanismParamsFactory.CreateCkRsaPkcsPssParams((ulong)hashMechanism, (ulong)mgf, (ulong)hash.Length);
                using var mechanism = _token.Factories.MechanismFactory.Create(CKM.CKM_RSA_PKCS_PSS, parameters);
                return session.Sign(mechanism, _token.PrivateKey(session, Id, Label), hash);
            }),
            _ => throw new CryptographicException($"RSA padding {padding.Mode} is not supported for signing."),
        };
    }

    /// <inheritdoc />
    public override bool VerifyHash(byte[] hash, byte[] signature, HashAlgorithmName hashAlgorithm, RSASignaturePadding padding) =>
        _publicKey.VerifyHash(hash, signature, hashAlgorithm, padding);

    /// <summary>The public key; asking for the private parameters throws: the key stays in the module.</summary>
    public override RSAParameters ExportParameters(bool includePrivateParameters) => includePrivateParameters
        ? throw new CryptographicException($"The private key '{Label}' cannot be exported: the key stays in the module (PKCS#11 token '{_token.Label}').")
        : _publicKey.ExportParameters(false);

    /// <summary>Not supported: a token-held key is made inside the module.</summary>
    public override void ImportParameters(RSAParameters parameters) =>
        throw new NotSupportedException("A PKCS#11 key is generated inside the token; it cannot be replaced by imported parameters.");

    protected override byte[] HashData(byte[] data, int offset, int count, HashAlgorithmName hashAlgorithm) =>
        CryptographicOperations.HashData(hashAlgorithm, data.AsSpan(offset, count));

    protected override byte[] HashData(Stream data, HashAlgorithmName hashAlgorithm) =>
        CryptographicOperations.HashData(hashAlgorithm, data);

    protected override bool TryHashData(ReadOnlySpan<byte> data, Span<byte> destination, HashAlgorithmName hashAlgorithm, out int bytesWritten) =>
        CryptographicOperations.TryHashData(hashAlgorithm, data, destination, out bytesWritten);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _publicKey.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>
    /// The DER DigestInfo prefix (RFC 8017 9.2 note 1: AlgorithmIdentifier with NULL parameters, then the OCTET STRING
    /// header; its last byte is the hash length), the PKCS#11 hash mechanism and the MGF1 generator for PSS.
    /// </summary>
    private static (byte[] Prefix, CKM Hash, CKG Mgf) HashParameters(HashAlgorithmName hashAlgorithm)
    {
        if (hashAlgorithm == HashAlgorithmName.SHA256)
        {
            return ([0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20], CKM.CKM_SHA256, CKG.CKG_MGF1_SHA256);
        }
        if (hashAlgorithm == HashAlgorithmName.SHA384)
        {
            return ([0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30], CKM.CKM_SHA384, CKG.CKG_MGF1_SHA384);
        }
        if (hashAlgorithm == HashAlgorithmName.SHA512)
        {
            return ([0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40], CKM.CKM_SHA512, CKG.CKG_MGF1_SHA512);
        }
        throw new CryptographicException($"Hash algorithm '{hashAlgorithm.Name}' is not supported for RSA signatures in the token; use SHA-256, SHA-384 or SHA-512.");
    }
}
