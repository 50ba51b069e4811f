using System.Security.Cryptography;

namespace PkiService.Core.Authorities;

/// <summary>
/// The at-rest form of the ECDSA keys this service generates for itself (OCSP responders, the mTLS listener):
/// encrypted PKCS#8 (PBES2, AES-256-CBC, PBKDF2-SHA256), protected by the same passphrase as the CA keys.
/// </summary>
public static class ProtectedEcdsaKey
{
    /// <summary>Default PBKDF2 iteration count, the same as the CA keys.</summary>
    public const int DefaultIterations = 210_000;

    /// <summary>A fresh ECDSA P-256 key.</summary>
    public static ECDsa GenerateP256() => ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>The key as encrypted PKCS#8, for an <see cref="ICaKeyStore"/>.</summary>
    public static byte[] Export(ECDsa key, string passphrase, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrEmpty(passphrase);
        var pbe = new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, iterations);
        return key.ExportEncryptedPkcs8PrivateKey(passphrase, pbe);
    }

    /// <summary>
    /// Decrypts a key written by <see cref="Export"/>. A wrong passphrase throws <see cref="CaKeyUnlockException"/>
    /// naming <paramref name="description"/>, like the CA keys.
    /// </summary>
    public static ECDsa Import(byte[] encryptedPkcs8, string passphrase, string description)
    {
        ArgumentNullException.ThrowIfNull(encryptedPkcs8);
        ArgumentException.ThrowIfNullOrEmpty(passphrase);
        var key = ECDsa.Create();
        try
        {
            key.ImportEncryptedPkcs8PrivateKey(passphrase, encryptedPkcs8, out _);
            return key;
        }
        catch (CryptographicException exception)
        {
            key.Dispose();
            throw new CaKeyUnlockException(
                $"The {description} private key could not be decrypted: Pki:KeyPassphrase does not match the passphrase it was encrypted with.",
                exception);
        }
    }

    /// <summary>
    /// The renewal rule for the short-lived certificates the service holds for itself: true once less than a third of
    /// the lifetime is left (or it has expired), so a new one is in place well before peers would reject the old one.
    /// </summary>
    public static bool NeedsRenewal(DateTimeOffset notBefore, DateTimeOffset notAfter, DateTimeOffset now) =>
        notAfter - now < (notAfter - notBefore) / 3;
}
