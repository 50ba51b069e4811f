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

    /// <summary>
    /// For a renewal, which keeps the identity and changes only key and validity: the CSR must ask for exactly
    /// <see cref="CommonName"/> and exactly the set of <see cref="SubjectAltNames"/>. Throws <see cref="CsrRejectedException"/>
    /// naming the first difference.
    /// </summary>
    public void RequireExactly(CertificationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!string.Equals(request.CommonName, CommonName, StringComparison.Ordinal))
        {
            throw new CsrRejectedException(request.CommonName is null
                ? $"The CSR has no CN; a renewal keeps the subject, so ask for CN '{CommonName}'."
                : $"The CSR asks for CN '{request.CommonName}' but the certificate being renewed has CN '{CommonName}'; a renewal keeps the subject.");
        }
        var requested = request.SubjectAltNames.ToHashSet();
        if (requested.SetEquals(SubjectAltNames))
        {
            return;
        }
        var extra = requested.Except(SubjectAltNames).FirstOrDefault();
        throw new CsrRejectedException(extra is not null
            ? $"The CSR asks for subjectAltName '{extra.Value}' ({extra.Kind}), which the certificate being renewed does not carry; a renewal keeps the names."
            : $"The CSR leaves out subjectAltName '{SubjectAltNames.First(s => !requested.Contains(s)).Value}'; a renewal must ask for exactly the names of the certificate it replaces: {string.Join(", ", SubjectAltNames)}.");
    }
}
