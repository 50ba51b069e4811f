using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Pkcs;
using PkiService.Core.Authorities;
using PkiService.Persistence.Entities;

namespace PkiService.Persistence.Stores;

/// <summary>
/// Keeps CA and OCSP responder certificates with their encrypted keys in the <c>CaKeys</c> table, one row per store
/// name, for nodes that share the database: every node loads the same CAs. The key bytes are exactly those the file
/// store keeps inside its PEM (a DER EncryptedPrivateKeyInfo, RFC 5958 3), encrypted under <c>Pki:KeyPassphrase</c>
/// before they reach this class; <see cref="Save"/> refuses anything else, so a plaintext key never reaches the database.
/// </summary>
public sealed class DatabaseCaKeyStore(IServiceScopeFactory scopes, TimeProvider time) : ICaKeyStore, ICaCertificateStore
{
    /// <inheritdoc />
    public bool TryLoad(string name, out byte[] certificateDer, out byte[] encryptedPkcs8)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();
        var row = db.CaKeys.AsNoTracking().SingleOrDefault(k => k.Name == name);
        certificateDer = row?.CertificateDer ?? [];
        encryptedPkcs8 = row?.EncryptedPrivateKey ?? [];
        return row is not null;
    }

    /// <inheritdoc />
    public void Save(string name, byte[] certificateDer, byte[] encryptedPkcs8)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(certificateDer);
        EnsureEncrypted(encryptedPkcs8);
        Write(name, certificateDer, encryptedPkcs8);
    }

    /// <inheritdoc />
    /// <remarks>One row whose certificate column holds the DER certificates one after the other, and no key.</remarks>
    public IReadOnlyList<byte[]>? TryLoadCertificates(string name) =>
        TryLoad(name, out var joined, out _) ? CertificateSequence.Split(joined) : null;

    /// <inheritdoc />
    public void SaveCertificates(string name, IReadOnlyList<byte[]> certificatesDer)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(certificatesDer);
        Write(name, CertificateSequence.Join(certificatesDer), []);
    }

    private void Write(string name, byte[] certificateDer, byte[] encryptedPkcs8)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();
        // A write transaction: serialized with every other writer of every node (see IPkiDatabase).
        using var transaction = db.Database.BeginTransaction();
        var row = db.CaKeys.SingleOrDefault(k => k.Name == name);
        if (row is null)
        {
            row = new CaKeyRecord { Name = name, CertificateDer = certificateDer, EncryptedPrivateKey = encryptedPkcs8 };
            db.CaKeys.Add(row);
        }
        else
        {
            row.CertificateDer = certificateDer;
            row.EncryptedPrivateKey = encryptedPkcs8;
        }
        row.UpdatedAt = time.GetUtcNow().UtcDateTime;
        db.SaveChanges();
        transaction.Commit();
    }

    /// <summary>
    /// Refuses bytes that are not a DER EncryptedPrivateKeyInfo (RFC 5958 3: SEQUENCE { encryptionAlgorithm, encryptedData
    /// OCTET STRING }). A plaintext PKCS#8 PrivateKeyInfo starts with its INTEGER version instead and is refused.
    /// </summary>
    private static void EnsureEncrypted(byte[] encryptedPkcs8)
    {
        ArgumentNullException.ThrowIfNull(encryptedPkcs8);
        try
        {
            if (Asn1Object.FromByteArray(encryptedPkcs8) is Asn1Sequence { Count: 2 } sequence && sequence[0] is Asn1Sequence)
            {
                _ = EncryptedPrivateKeyInfo.GetInstance(sequence);
                return;
            }
        }
        catch (Exception exception) when (exception is IOException or ArgumentException or InvalidCastException)
        {
            throw new ArgumentException("The key to store is not a DER EncryptedPrivateKeyInfo.", nameof(encryptedPkcs8), exception);
        }
        throw new ArgumentException("The key to store is not a DER EncryptedPrivateKeyInfo; only encrypted PKCS#8 may be stored.", nameof(encryptedPkcs8));
    }
}
