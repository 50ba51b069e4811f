using System.Numerics;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;
using PkiService.Core.Authorities;
using PkiService.Core.Revocation;

namespace PkiService.Core.Tests.TestSupport;

/// <summary>
/// BouncyCastle's <see cref="X509V2CrlGenerator"/> fed the same input as <see cref="CrlBuilder"/> (which used it before
/// the streaming writer): the reference the writer's encoding is compared with.
/// </summary>
public static class BouncyCastleCrlReference
{
    public static X509Crl Build(
        CertificateAuthority ca, BigInteger crlNumber, DateTimeOffset thisUpdate, DateTimeOffset nextUpdate,
        IEnumerable<RevokedCertificate> revoked, BigInteger? baseCrlNumber = null, string? freshestCrlUrl = null)
    {
        var generator = new X509V2CrlGenerator();
        generator.SetIssuerDN(ca.Subject);
        generator.SetThisUpdate(thisUpdate.UtcDateTime);
        generator.SetNextUpdate(nextUpdate.UtcDateTime);
        foreach (var entry in revoked.OrderBy(e => e.SerialNumber.Hex.Length).ThenBy(e => e.SerialNumber.Hex, StringComparer.Ordinal))
        {
            var extensions = new X509ExtensionsGenerator();
            if (entry.Reason != RevocationReason.Unspecified)
            {
                extensions.AddExtension(X509Extensions.ReasonCode, false, new CrlReason(entry.Reason.ToCrlReasonCode()));
            }
            if (entry.InvalidityDate is { } invalidity)
            {
                extensions.AddExtension(X509Extensions.InvalidityDate, false, new DerGeneralizedTime(invalidity.UtcDateTime));
            }
            generator.AddCrlEntry(entry.SerialNumber.ToBouncyCastle(), entry.RevocationDate.UtcDateTime, extensions.IsEmpty ? null : extensions.Generate());
        }
        generator.AddExtension(X509Extensions.AuthorityKeyIdentifier, false, new AuthorityKeyIdentifier(ca.SubjectKeyIdentifier));
        generator.AddExtension(X509Extensions.CrlNumber, false, new CrlNumber(ToBouncyCastle(crlNumber)));
        if (baseCrlNumber is { } baseNumber)
        {
            generator.AddExtension(X509Extensions.DeltaCrlIndicator, true, new CrlNumber(ToBouncyCastle(baseNumber)));
        }
        if (freshestCrlUrl is not null)
        {
            var name = new GeneralNames(new GeneralName(GeneralName.UniformResourceIdentifier, freshestCrlUrl));
            generator.AddExtension(X509Extensions.FreshestCrl, false, new CrlDistPoint([new DistributionPoint(new DistributionPointName(name), null, null)]));
        }
        return generator.Generate(ca.SignatureFactory);
    }

    private static Org.BouncyCastle.Math.BigInteger ToBouncyCastle(BigInteger value) =>
        new(1, value.ToByteArray(isUnsigned: true, isBigEndian: true));
}
