using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X9;

namespace PkiService.Api.Features.Est;

/// <summary>
/// The CSR attributes this service asks EST clients for (RFC 7030 4.5.2, <c>/csrattrs</c>): sign the CSR with
/// ecdsa-with-SHA256 and make an EC key on P-256. Only a hint (RFC 7030 4.5: the server may still accept other
/// requests); every key <see cref="PkiService.Core.Issuance.CertificationRequest"/> accepts is still accepted.
/// </summary>
public static class EstCsrAttributes
{
    /// <summary>
    /// <c>CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID</c>:
    /// SEQUENCE { ecdsa-with-SHA256, Attribute { id-ecPublicKey, SET { secp256r1 } } }, DER.
    /// </summary>
    public static byte[] Der { get; } = new DerSequence(
        X9ObjectIdentifiers.ECDsaWithSha256,
        new DerSequence(X9ObjectIdentifiers.IdECPublicKey, new DerSet(SecObjectIdentifiers.SecP256r1)))
        .GetEncoded(Asn1Encodable.Der);
}
