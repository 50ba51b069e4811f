namespace PkiService.Api.Issuance;

/// <summary>An issued certificate, returned only once its record is committed.</summary>
/// <param name="SerialNumber">Uppercase hexadecimal serial.</param>
/// <param name="Certificate">The certificate, PEM.</param>
/// <param name="Chain">Issuing CA then root, PEM.</param>
/// <param name="NotBefore">Start of validity.</param>
/// <param name="NotAfter">End of validity.</param>
public sealed record EnrollmentResponse(string SerialNumber, string Certificate, string Chain, DateTimeOffset NotBefore, DateTimeOffset NotAfter);
