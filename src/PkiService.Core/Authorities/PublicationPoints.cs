using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;

namespace PkiService.Core.Authorities;

/// <summary>
/// Where relying parties find revocation data and issuer certificates for what a CA signs:
/// the CRL Distribution Point (RFC 5280 4.2.1.13), Authority Information Access (RFC 5280 4.2.2.1) and, for a CA
/// that issues delta CRLs, the Freshest CRL pointer (RFC 5280 4.2.1.15).
/// </summary>
/// <param name="CrlUrl">The complete CRL.</param>
/// <param name="OcspUrl">The OCSP responder.</param>
/// <param name="CaIssuersUrl">The issuer's certificate.</param>
/// <param name="FreshestCrlUrl">The delta CRL, or null when the CA publishes none.</param>
public sealed record PublicationPoints(string CrlUrl, string OcspUrl, string CaIssuersUrl, string? FreshestCrlUrl = null)
{
    /// <summary>Publication points for certificates signed by the issuing CA (which publishes delta CRLs).</summary>
    public static PublicationPoints ForIssuingCa(string publicBaseUrl)
    {
        var baseUrl = publicBaseUrl.TrimEnd('/');
        return new PublicationPoints($"{baseUrl}/pki/crl", $"{baseUrl}/ocsp", $"{baseUrl}/pki/ca.crt", $"{baseUrl}/pki/delta.crl");
    }

    /// <summary>Publication points for certificates signed by the root (the issuing CA's own certificate).</summary>
    public static PublicationPoints ForRootCa(string publicBaseUrl)
    {
        var baseUrl = publicBaseUrl.TrimEnd('/');
        return new PublicationPoints($"{baseUrl}/pki/root.crl", $"{baseUrl}/ocsp", $"{baseUrl}/pki/root.crt");
    }

    /// <summary>
    /// DER of a CRLDistributionPoints value naming one URI as the full name of one distribution point
    /// (RFC 5280 4.2.1.13); the Freshest CRL extension has the same syntax (RFC 5280 4.2.1.15 and 5.2.6).
    /// </summary>
    public static byte[] EncodeDistributionPoints(string url) => DistributionPoints(url).GetDerEncoded();

    /// <summary>Adds the CDP, AIA and, if set, Freshest CRL extensions (all non-critical) to a certificate being built.</summary>
    public void AddTo(X509V3CertificateGenerator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        foreach (var (oid, value) in Extensions())
        {
            generator.AddExtension(oid, false, value);
        }
    }

    /// <summary>
    /// The extensions <see cref="AddTo"/> adds, in its order, all non-critical: CDP (RFC 5280 4.2.1.13), AIA with the
    /// OCSP responder and the issuer certificate (RFC 5280 4.2.2.1) and, if set, Freshest CRL (RFC 5280 4.2.1.15, which
    /// must be non-critical).
    /// </summary>
    public IReadOnlyList<(DerObjectIdentifier Oid, Asn1Encodable Value)> Extensions()
    {
        var access = new AuthorityInformationAccess([
            new AccessDescription(AccessDescription.IdADOcsp, new GeneralName(GeneralName.UniformResourceIdentifier, OcspUrl)),
            new AccessDescription(AccessDescription.IdADCAIssuers, new GeneralName(GeneralName.UniformResourceIdentifier, CaIssuersUrl)),
        ]);
        List<(DerObjectIdentifier, Asn1Encodable)> extensions =
        [
            (X509Extensions.CrlDistributionPoints, DistributionPoints(CrlUrl)),
            (X509Extensions.AuthorityInfoAccess, access),
        ];
        if (FreshestCrlUrl is not null)
        {
            extensions.Add((X509Extensions.FreshestCrl, DistributionPoints(FreshestCrlUrl)));
        }
        return extensions;
    }

    private static CrlDistPoint DistributionPoints(string url)
    {
        var name = new GeneralNames(new GeneralName(GeneralName.UniformResourceIdentifier, url));
        return new CrlDistPoint([new DistributionPoint(new DistributionPointName(name), null, null)]);
    }
}
