using System.Security.Cryptography;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;
using PkiService.Core.Authorities;
using PkiService.Core.Issuance;

namespace PkiService.Core.Tests.TestSupport;

/// <summary>
/// BouncyCastle's <see cref="X509V3CertificateGenerator"/> fed a <see cref="CertificateBody"/> exactly as
/// <see cref="IssuingAuthority"/> fed it before issue 16: the reference <see cref="CertificateWriter"/>'s encoding is
/// compared with, and the issuance benchmark's baseline (this file is linked into tests/PkiService.Benchmarks).
/// </summary>
public static class BouncyCastleCertificateReference
{
    public static IssuedCertificate Issue(CertificateAuthority issuer, PublicationPoints publicationPoints, CertificateBody body)
    {
        var subject = new X509Name([X509Name.CN], [body.CommonName]);
        var generator = new X509V3CertificateGenerator();
        generator.SetSerialNumber(body.SerialNumber.ToBouncyCastle());
        generator.SetIssuerDN(issuer.Subject);
        generator.SetSubjectDN(subject);
        generator.SetNotBefore(body.NotBefore.UtcDateTime);
        generator.SetNotAfter(body.NotAfter.UtcDateTime);
        generator.SetSubjectPublicKeyInfo(body.PublicKeyInfo);
        generator.AddExtension(X509Extensions.BasicConstraints, true, new BasicConstraints(false));
        var keyUsage = KeyUsage.DigitalSignature;
        if (body.KeyEncipherment)
        {
            keyUsage |= KeyUsage.KeyEncipherment;
        }
        generator.AddExtension(X509Extensions.KeyUsage, true, new KeyUsage(keyUsage));
        generator.AddExtension(X509Extensions.ExtendedKeyUsage, false, new ExtendedKeyUsage(body.Profile.ExtendedKeyUsage));
        generator.AddExtension(X509Extensions.SubjectKeyIdentifier, false,
            new SubjectKeyIdentifier(SHA1.HashData(body.PublicKeyInfo.PublicKey.GetBytes())));
        generator.AddExtension(X509Extensions.AuthorityKeyIdentifier, false, new AuthorityKeyIdentifier(issuer.SubjectKeyIdentifier));
        if (body.SubjectAltNames.Count > 0)
        {
            generator.AddExtension(X509Extensions.SubjectAlternativeName, false, new GeneralNames(body.SubjectAltNames.Select(s => s.ToGeneralName()).ToArray()));
        }
        publicationPoints.AddTo(generator);
        var certificate = generator.Generate(issuer.SignatureFactory);
        return new IssuedCertificate(body.SerialNumber, subject.ToString(), body.CommonName, body.SubjectAltNames, body.Profile.Name,
            body.NotBefore, body.NotAfter, certificate.GetEncoded());
    }
}
