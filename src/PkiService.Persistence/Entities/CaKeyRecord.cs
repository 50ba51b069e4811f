namespace PkiService.Persistence.Entities;

/// <summary>
/// A CA certificate (or an OCSP responder certificate) and its private key, kept in the database when several nodes
/// share it (<c>Database:Provider=Postgres</c>): the same bytes the file store keeps as <c>&lt;name&gt;.crt</c> and
/// <c>&lt;name&gt;.key</c>. The key is PKCS#8 encrypted under <c>Pki:KeyPassphrase</c> (PBES2, AES-256) before it
/// reaches the database; a plaintext key never does.
/// </summary>
public sealed class CaKeyRecord
{
    /// <summary>The store name: <c>root-ca</c>, <c>issuing-ca</c>, <c>root-ca-ocsp</c>, <c>issuing-ca-ocsp</c>.</summary>
    public required string Name { get; set; }

    /// <summary>DER of the certificate.</summary>
    public required byte[] CertificateDer { get; set; }

    /// <summary>DER of the EncryptedPrivateKeyInfo (RFC 5958 3).</summary>
    public required byte[] EncryptedPrivateKey { get; set; }

    public DateTime UpdatedAt { get; set; }
}
