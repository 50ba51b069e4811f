using System.Security.Cryptography;
using Org.BouncyCastle.X509;

namespace PkiService.Core.Authorities;

/// <summary>
/// The software key provider (<c>Pki:KeyStore</c> = <c>File</c>, the default): keys are made in process and kept in an
/// <see cref="ICaKeyStore"/> (the data directory's files, or the shared database) as PKCS#8 encrypted under the
/// passphrase (PBES2, AES-256-CBC, PBKDF2-SHA256). The passphrase lives here and nowhere else.
/// </summary>
public sealed class FileCaKeyProvider : ICaKeyProvider
{
    /// <summary>Default PBKDF2 iteration count of the key encryption.</summary>
    public const int DefaultIterations = ProtectedEcdsaKey.DefaultIterations;

    private readonly ICaKeyStore _store;
    private readonly string _passphrase;
    private readonly int _iterations;

    public FileCaKeyProvider(ICaKeyStore store, string passphrase, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(passphrase);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        _store = store;
        _passphrase = passphrase;
        _iterations = iterations;
    }

    /// <inheritdoc/>
    /// <exception cref="CaKeyUnlockException">The key exists but the passphrase does not decrypt it.</exception>
    public CaKey? TryLoad(string name)
    {
        if (!_store.TryLoad(name, out var certificateDer, out var encryptedKey))
        {
            return null;
        }
        var certificate = new X509CertificateParser().ReadCertificate(certificateDer)
            ?? throw new InvalidDataException($"The {name} certificate is empty.");
        AsymmetricAlgorithm key = certificate.GetPublicKey() switch
        {
            Org.BouncyCastle.Crypto.Parameters.ECPublicKeyParameters => ECDsa.Create(),
            Org.BouncyCastle.Crypto.Parameters.RsaKeyParameters => RSA.Create(),
            var other => throw new InvalidDataException($"The {name} certificate has an unsupported key type {other.GetType().Name}."),
        };
        try
        {
            key.ImportEncryptedPkcs8PrivateKey(_passphrase, encryptedKey, out _);
        }
        catch (CryptographicException exception)
        {
            key.Dispose();
            throw new CaKeyUnlockException(
                $"The {name} private key could not be decrypted: Pki:KeyPassphrase does not match the passphrase the stored keys were encrypted with.",
                exception);
        }
        return new CaKey(certificateDer, key);
    }

    /// <inheritdoc/>
    public AsymmetricAlgorithm CreateKey(string name, CaKeyAlgorithm algorithm) => CaKeyAlgorithms.Generate(algorithm);

    /// <inheritdoc/>
    public void Save(string name, byte[] certificateDer, AsymmetricAlgorithm key)
    {
        ArgumentNullException.ThrowIfNull(certificateDer);
        ArgumentNullException.ThrowIfNull(key);
        var pbe = new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, _iterations);
        _store.Save(name, certificateDer, key.ExportEncryptedPkcs8PrivateKey(_passphrase, pbe));
    }
}
