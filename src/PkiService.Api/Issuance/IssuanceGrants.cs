using PkiService.Core.Issuance;
using PkiService.Core.Primitives;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Issuance;

/// <summary>Reads an <see cref="IssuanceGrant"/> from each stored credential that can grant one.</summary>
public static class IssuanceGrants
{
    /// <summary>What an enrollment token allows: its names, profile and validity cap; the certificate is attributed to it.</summary>
    public static IssuanceGrant FromToken(EnrollmentTokenRecord token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return new IssuanceGrant(
            GrantSource.EnrollmentToken,
            token.Id,
            new NameAuthorization(token.CommonName, token.SubjectAltNames.Select(SubjectAltName.Classify).ToList()),
            Profile(token.Profile, $"Token {token.Id}"),
            token.MaxValidity,
            token.Id,
            token.ContactEmail);
    }

    /// <summary>
    /// What a certificate presented for renewal allows: exactly its own names under its own profile, no longer than the
    /// validity cap of the token it descends from (<paramref name="tokenValidityCap"/>), keeping the token and contact
    /// e-mail it is attributed to.
    /// </summary>
    public static IssuanceGrant FromCurrentCertificate(CertificateRecord certificate, TimeSpan? tokenValidityCap)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return new IssuanceGrant(
            GrantSource.CurrentCertificate,
            certificate.SerialNumber,
            new NameAuthorization(certificate.CommonName, certificate.SubjectAltNames.Select(SubjectAltName.Classify).ToList()),
            Profile(certificate.Profile, $"Certificate {certificate.SerialNumber}"),
            tokenValidityCap,
            certificate.EnrollmentTokenId,
            certificate.ContactEmail);
    }

    private static CertificateProfile Profile(string name, string owner) => CertificateProfile.TryGet(name, out var profile)
        ? profile
        : throw new InvalidOperationException($"{owner} names unknown profile '{name}'.");
}
