using Org.BouncyCastle.X509;
using PkiService.Core.Authorities;

namespace PkiService.Core.Ocsp;

/// <summary>A CA the responder answers for, and the delegated responder certificate that signs on its behalf.</summary>
/// <param name="CaCertificate">The CA certificate (the issuer named in requests' CertIDs).</param>
/// <param name="Responder">A responder certificate issued by that CA (RFC 6960 4.2.2.2).</param>
public sealed record OcspResponderEntry(X509Certificate CaCertificate, OcspResponderCertificate Responder)
{
    /// <summary>An entry for a CA this service holds.</summary>
    public OcspResponderEntry(CertificateAuthority ca, OcspResponderCertificate responder)
        : this((ca ?? throw new ArgumentNullException(nameof(ca))).Certificate, responder)
    {
    }
}
