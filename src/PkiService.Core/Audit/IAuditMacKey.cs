namespace PkiService.Core.Audit;

/// <summary>
/// The secret that authenticates audit rows. The core asks it for a MAC and never handles the key itself, so an
/// implementation may keep the key in memory (<see cref="PassphraseAuditMacKey"/>) or, once keys can live there, in a
/// PKCS#11 module.
/// </summary>
public interface IAuditMacKey
{
    /// <summary>HMAC-SHA256, under the audit key, of a row's chain hash (<see cref="AuditChain.Hash"/>): 32 bytes.</summary>
    byte[] ComputeMac(ReadOnlySpan<byte> rowHash);
}
