using PkiService.Core.Errors;
using PkiService.Core.Primitives;

namespace PkiService.Core.Issuance;

/// <summary>
/// The names an enrollment is allowed to carry (from its token), and the rule that decides which
/// names go into the certificate: the CN is always the authorized one, and the SANs are the ones the CSR
/// asks for (each of which must be authorized), or every authorized SAN when the CSR asks for none.
/// </summary>
public sealed record NameAuthorization(string CommonName, IReadOnlyList<SubjectAltName> SubjectAltNames)
{
    /// <summary>Decides the subject CN and SANs for <paramref name="request"/>; throws <see cref="CsrRejectedException"/> for any name not authorized.</summary>
    public (string CommonName, IReadOnlyList<SubjectAltName> SubjectAltNames) Resolve(CertificationRequest request, CertificateProfile profile)
    {
        if (request.CommonName is { } requested && !string.Equals(requested, CommonName, StringComparison.Ordinal))
        {
            throw new CsrRejectedException($"The CSR asks for CN '{requested}' but the enrollment token allows only CN '{CommonName}'.");
        }
        IReadOnlyList<SubjectAltName> sans;
        if (request.SubjectAltNames.Count == 0)
        {
            sans = SubjectAltNames;
        }
        else
        {
            foreach (var san in request.SubjectAltNames)
            {
                if (!SubjectAltNames.Contains(san))
                {
                    throw new CsrRejectedException($"The CSR asks for subjectAltName '{san.Value}' ({san.Kind}), which the enrollment token does not allow.");
                }
            }
            sans = request.SubjectAltNames.Distinct().ToList();
        }
        if (profile.RequiresSubjectAltName && sans.Count == 0)
        {
            throw new CsrRejectedException($"The '{profile.Name}' profile requires at least one subjectAltName; add one to the token and the CSR.");
        }
        return (CommonName, sans);
    }
}
