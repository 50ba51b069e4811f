using System.Security.Cryptography;

namespace PkiService.Core.Authorities;

/// <summary>A CA's certificate and the key that signs for it, as a key provider hands them out.</summary>
/// <param name="CertificateDer">The CA certificate, DER.</param>
/// <param name="Key">
/// Something that signs with the CA's private key (<see cref="ECDsa"/> or <see cref="RSA"/>): the key itself for the
/// file store, a handle whose every signature is made inside the module for PKCS#11. Its private key may never be
/// exportable.
/// </param>
public sealed record CaKey(byte[] CertificateDer, AsymmetricAlgorithm Key);

/// <summary>
/// Where CA keys live (<c>Pki:KeyStore</c>): creates or finds a named key and returns something that signs. The file
/// store (encrypted PKCS#8 under <c>Pki:KeyPassphrase</c>) is one implementation; a PKCS#11 module, whose keys never
/// leave it, is another. Signing goes through <see cref="AsymmetricAlgorithm"/> and <see cref="DotNetSignatureFactory"/>
/// either way.
/// </summary>
public interface ICaKeyProvider
{
    /// <summary>Finds the CA named <paramref name="name"/> (its certificate and key); null when it does not exist yet.</summary>
    CaKey? TryLoad(string name);

    /// <summary>Makes a new key for the CA named <paramref name="name"/>; it is kept only once <see cref="Save"/> stores its certificate.</summary>
    AsymmetricAlgorithm CreateKey(string name, CaKeyAlgorithm algorithm);

    /// <summary>Stores the certificate of the CA named <paramref name="name"/> with its key (made by <see cref="CreateKey"/>), replacing any earlier one.</summary>
    void Save(string name, byte[] certificateDer, AsymmetricAlgorithm key);
}
