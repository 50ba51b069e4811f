using Org.BouncyCastle.Cms;
using Org.BouncyCastle.Utilities.Collections;
using Org.BouncyCastle.X509;

namespace PkiService.Api.Features.Est;

/// <summary>
/// The certs-only CMS message EST answers certificates in (RFC 7030 4.1.3 and 4.2.3; RFC 5751 3.2.2 / RFC 8551 3.2.2
/// "certs-only"): a SignedData with no signers and no content, only the <c>certificates</c> field.
/// </summary>
public static class EstCertificates
{
    /// <summary>
    /// The DER of a certs-only SignedData holding <paramref name="certificates"/> (DER each). The certificates field is a
    /// SET (RFC 5652 5.1), so DER sorts it: clients build the chain from the certificates, not from their order.
    /// </summary>
    public static byte[] CertsOnly(params byte[][] certificates)
    {
        ArgumentNullException.ThrowIfNull(certificates);
        var parsed = certificates.Select(der => new X509Certificate(der)).ToList();
        var generator = new CmsSignedDataGenerator();
        generator.AddCertificates(CollectionUtilities.CreateStore(parsed));
        // RFC 5652 5.2: with no signers the encapsulated content is id-data without eContent.
        return generator.Generate(new CmsAbsentContent(), encapsulate: false).GetEncoded("DER");
    }
}
