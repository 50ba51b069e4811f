using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;

namespace PkiService.Core.Authorities;

/// <summary>
/// Where relying parties find revocation data and issuer certificates for what a CA signs:
/// the CRL Distribution Point (RFC 5280 4.2.1.13) and Authority Information Access (RFC 5280 4.2.2.1).
/// </summary>
public sealed record PublicationPoints(string CrlUrl, string OcspUrl, string CaIssuersUrl)
{
    /// <summary>Publication points for certificates signed by the issuing CA.</summary>
    public static PublicationPoints ForIssuingCa(string publicBaseUrl)
    {
        var baseUrl = publicBaseUrl.TrimEnd('/');
        return new PublicationPoints($"{baseUrl}/pki/crl", $"{baseUrl}/ocsp", $"{baseUrl}/pki/ca.crt");
    }

    /// <summary>Publication points for certificates signed by the root (the issuing CA's own certificate).</summary>
    public static PublicationPoints ForRootCa(string publicBaseUrl)
    {
        var baseUrl = publicBaseUrl.TrimEnd('/');
        return new PublicationPoints($"{baseUrl}/pki/root.crl", $"{baseUrl}/ocsp", $"{baseUrl}/pki/root.crt");
    }

    /// <summary>Adds the CDP and AIA extensions (both non-critical) to a certificate being built.</summary>
    public void AddTo(X509V3CertificateGenerator generator)
    {
        var crlName = new GeneralNames(new GeneralName(GeneralName.UniformResourceIdentifier, CrlUrl));
        var distributionPoint = new DistributionPoint(new DistributionPointName(crlName), null, null);
        generator.AddExtension(X509Extensions.CrlDistributionPoints, false, new CrlDistPoint([distributionPoint]));

        var access = new AuthorityInformationAccess([
            new AccessDescription(AccessDescription.IdADOcsp, new GeneralName(GeneralName.UniformResourceIdentifier, OcspUrl)),
            new AccessDescription(AccessDescription.IdADCAIssuers, new GeneralName(GeneralName.UniformResourceIdentifier, CaIssuersUrl)),
        ]);
        generator.AddExtension(X509Extensions.AuthorityInfoAccess, false, access);
    }
}
