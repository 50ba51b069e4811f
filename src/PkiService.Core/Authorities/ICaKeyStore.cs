namespace PkiService.Core.Authorities;

/// <summary>
/// Where CA certificates and their encrypted private keys are kept. The core never sees a plaintext
/// key on disk: it hands the store PKCS#8 already encrypted (PBES2, AES-256).
/// </summary>
public interface ICaKeyStore
{
    /// <summary>Reads the certificate (DER) and encrypted PKCS#8 key stored under <paramref name="name"/>, if any.</summary>
    bool TryLoad(string name, out byte[] certificateDer, out byte[] encryptedPkcs8);

    /// <summary>Stores a certificate and its encrypted key under <paramref name="name"/>, replacing any earlier pair.</summary>
    void Save(string name, byte[] certificateDer, byte[] encryptedPkcs8);
}
