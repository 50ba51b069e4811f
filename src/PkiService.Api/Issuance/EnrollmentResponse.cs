using PkiService.Core.Authorities;
using PkiService.Core.Issuance;

namespace PkiService.Api.Issuance;

/// <summary>An issued certificate, returned only once its record is committed.</summary>
/// <param name="SerialNumber">Uppercase hexadecimal serial.</param>
/// <param name="Certificate">The certificate, PEM.</param>
/// <param name="Chain">Issuing CA then root, PEM.</param>
/// <param name="NotBefore">Start of validity.</param>
/// <param name="NotAfter">End of validity.</param>
/// <param name="RenewAfter">
/// When the client should renew: <c>notBefore + Renewal:RenewAfterFraction × (notAfter − notBefore)</c>, rounded down to
/// the second (two thirds of the lifetime by default). A hint, not a rule: renewal is accepted any time the certificate
/// is valid.
/// </param>
public sealed record EnrollmentResponse(
    string SerialNumber, string Certificate, string Chain, DateTimeOffset NotBefore, DateTimeOffset NotAfter, DateTimeOffset RenewAfter)
{
    /// <summary>The answer for <paramref name="issued"/>, with the chain and the renewal hint.</summary>
    public static EnrollmentResponse For(IssuedCertificate issued, CaHierarchy hierarchy, RenewalKeyOptions options) =>
        new(issued.SerialNumber.Hex, issued.Pem, hierarchy.ChainPem, issued.NotBefore, issued.NotAfter,
            RenewAfterOf(issued.NotBefore, issued.NotAfter, options.RenewAfterFraction));

    /// <summary><c>notBefore + fraction × (notAfter − notBefore)</c>, rounded down to the second.</summary>
    public static DateTimeOffset RenewAfterOf(DateTimeOffset notBefore, DateTimeOffset notAfter, double fraction)
    {
        var at = notBefore.UtcTicks + (long)Math.Floor((notAfter - notBefore).Ticks * fraction);
        return new DateTimeOffset(at - (at % TimeSpan.TicksPerSecond), TimeSpan.Zero);
    }
}
