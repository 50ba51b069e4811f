using System.Security.Cryptography;
using Net.Pkcs11Interop.Common;

namespace PkiService.KeyStore.Pkcs11;

/// <summary>
/// An ECDSA private key that lives in a PKCS#11 token: every signature is made inside the module (CKM_ECDSA over the
/// hash), verification is done in software with the public key, and the private key can never be exported.
/// <see cref="PkiService.Core.Authorities.DotNetSignatureFactory"/> signs through it like any <see cref="ECDsa"/>
/// (SignData hashes in process, then <see cref="SignHash(byte[])"/>).
/// </summary>
public sealed class Pkcs11ECDsa : ECDsa
{
    private readonly Pkcs11Token _token;
    private readonly ECDsa _publicKey;

    internal Pkcs11ECDsa(Pkcs11Token token, string label, byte[] id, ECParameters publicParameters)
    {
        _token = token;
        Label = label;
        Id = id;
        _publicKey = ECDsa.Create(publicParameters);
        LegalKeySizesValue = [new KeySizes(256, 384, 128)];
        KeySizeValue = _publicKey.KeySize;
    }

    /// <summary>The key's <c>CKA_LABEL</c> (the CA's name).</summary>
    public string Label { get; }

    /// <summary>The key's <c>CKA_ID</c>, shared by its public key and certificate objects.</summary>
    internal byte[] Id { get; }

    internal Pkcs11Token Token => _token;

    /// <summary>
    /// Signs <paramref name="hash"/> in the token. CKM_ECDSA returns r || s, each as long as the curve order
    /// (PKCS#11 v2.40 Mechanisms 2.3.1), which is exactly .NET's IEEE P1363 format.
    /// </summary>
    public override byte[] SignHash(byte[] hash)
    {
        ArgumentNullException.ThrowIfNull(hash);
        var signature = _token.Run(session =>
        {
            using var mechanism = _token.Factories.MechanismFactory.Create(CKM.CKM_ECDSA);
            return session.Sign(mechanism, _token.PrivateKey(session, Id, Label), hash);
        });
        // Anything but r || s (a module that answered DER, say) would be re-encoded wrongly by .NET: refuse it.
        if (signature.Length != 2 * ((KeySize + 7) / 8))
        {
            throw new CryptographicException($"The token answered a {signature.Length}-byte ECDSA signature; a P-{KeySize} signature r || s is {2 * ((KeySize + 7) / 8)} bytes.");
        }
        return signature;
    }

    /// <inheritdoc />
    public override bool VerifyHash(byte[] hash, byte[] signature) => _publicKey.VerifyHash(hash, signature);

    /// <summary>The public key; asking for the private parameters throws: the key stays in the module.</summary>
    public override ECParameters ExportParameters(bool includePrivateParameters) => includePrivateParameters
        ? throw new CryptographicException($"The private key '{Label}' cannot be exported: the key stays in the module (PKCS#11 token '{_token.Label}').")
        : _publicKey.ExportParameters(false);

    /// <inheritdoc cref="ExportParameters(bool)" />
    public override ECParameters ExportExplicitParameters(bool includePrivateParameters) => includePrivateParameters
        ? throw new CryptographicException($"The private key '{Label}' cannot be exported: the key stays in the module (PKCS#11 token '{_token.Label}').")
        : _publicKey.ExportExplicitParameters(false);

    /// <summary>Not supported: a token-held key is made inside the module.</summary>
    public override void ImportParameters(ECParameters parameters) =>
        throw new NotSupportedException("A PKCS#11 key is generated inside the token; it cannot be replaced by imported parameters.");

    /// <summary>Not supported: a token-held key is made inside the module.</summary>
    public override void GenerateKey(ECCurve curve) =>
        throw new NotSupportedException("A PKCS#11 key is generated inside the token by the key provider.");

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
}
