using System.Security.Cryptography;

namespace PkiService.Core.Audit;

/// <summary>
/// The audit MAC key derived from the CA key passphrase: never stored, recomputed at every start, held in memory only.
/// </summary>
/// <remarks>
/// Derivation: <c>PBKDF2-HMAC-SHA256(passphrase, salt, 210,000 iterations)</c>, then HKDF-SHA256 (RFC 5869) with the same
/// salt and the info label <see cref="Info"/>. The salt is per deployment and not secret: the SHA-256 of the root CA
/// certificate. The PBKDF2 step is there because every stored MAC, beside the public row hash it covers, lets whoever
/// reads the database test passphrase guesses offline; without stretching a guess would cost a few SHA-256 blocks
/// instead of the PBKDF2 work that protects the encrypted CA keys. The iteration count is fixed (the default of
/// <c>Pki:KeyEncryptionIterations</c>), not configured: a different count would give a different key, and every MAC
/// written before would stop verifying. HKDF then separates this key from any other drawn from the same secret.
/// </remarks>
public sealed class PassphraseAuditMacKey : IAuditMacKey, IDisposable
{
    /// <summary>PBKDF2 iterations of the stretching step; part of the key's definition, never to change.</summary>
    public const int StretchIterations = 210_000;

    /// <summary>The HKDF info label: names this key's one use, and its version.</summary>
    public static ReadOnlySpan<byte> Info => "PkiService audit row MAC v1"u8;

    private const int KeySize = 32;
    private readonly byte[] _key = new byte[KeySize];
    private bool _disposed;

    /// <param name="passphrase">The CA key passphrase (<c>Pki:KeyPassphrase</c>, or the generated one).</param>
    /// <param name="deploymentSalt">A non-secret value unique to the deployment, at least 16 bytes.</param>
    public PassphraseAuditMacKey(string passphrase, ReadOnlySpan<byte> deploymentSalt)
    {
        ArgumentException.ThrowIfNullOrEmpty(passphrase);
        if (deploymentSalt.Length < 16)
        {
            throw new ArgumentException("The deployment salt must be at least 16 bytes.", nameof(deploymentSalt));
        }
        Span<byte> stretched = stackalloc byte[KeySize];
        try
        {
            Rfc2898DeriveBytes.Pbkdf2(passphrase, deploymentSalt, stretched, StretchIterations, HashAlgorithmName.SHA256);
            HKDF.DeriveKey(HashAlgorithmName.SHA256, stretched, _key, deploymentSalt, Info);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(stretched);
        }
    }

    /// <summary>The key of the deployment whose root CA certificate is <paramref name="rootCertificateDer"/>.</summary>
    public static PassphraseAuditMacKey ForDeployment(string passphrase, ReadOnlySpan<byte> rootCertificateDer) =>
        new(passphrase, SHA256.HashData(rootCertificateDer));

    /// <inheritdoc />
    public byte[] ComputeMac(ReadOnlySpan<byte> rowHash)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return HMACSHA256.HashData(_key, rowHash);
    }

    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_key);
    }
}
