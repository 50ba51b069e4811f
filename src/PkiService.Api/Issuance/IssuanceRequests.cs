using PkiService.Core.Issuance;

namespace PkiService.Api.Issuance;

/// <summary>
/// A certificate asked for with a one-time enrollment token, from any front end.
/// </summary>
/// <param name="Token">The token's secret as presented (null when none was sent).</param>
/// <param name="Csr">
/// Reads the CSR; called only once the token is known to be usable, so a bad body from someone without a token is
/// answered as unauthenticated. Throws <see cref="PkiService.Core.Errors.CsrRejectedException"/> for a bad CSR.
/// </param>
/// <param name="Validity">Requested validity, capped by the token and the profile; null for the profile's default.</param>
/// <param name="Protocol">The front end, for metrics and the audit row.</param>
/// <param name="Profile">When the front end names a profile (an EST label), the token must be for that profile.</param>
/// <param name="Hints">How the front end tells its clients to send a token and where each profile is served.</param>
public sealed record TokenIssuanceRequest(
    string? Token, Func<CertificationRequest> Csr, TimeSpan? Validity, IssuanceProtocol Protocol, string? Profile = null, FrontEndHints? Hints = null);

/// <summary>
/// A certificate renewing itself, authenticated by the TLS client certificate, from any front end.
/// </summary>
/// <param name="ClientCertificate">The TLS client certificate, DER (null when none was sent).</param>
/// <param name="Csr">Reads the CSR; called only once the client certificate is known to be ours and active.</param>
/// <param name="Validity">Requested validity; null for the lifetime of the certificate it replaces.</param>
/// <param name="Protocol">The front end, for metrics and the audit row.</param>
/// <param name="Profile">When the front end names a profile (an EST label), the certificate must be of that profile.</param>
/// <param name="Hints">Where the front end serves each profile, for the refusal when the profile is not this one.</param>
public sealed record RenewalRequest(
    byte[]? ClientCertificate, Func<CertificationRequest> Csr, TimeSpan? Validity, IssuanceProtocol Protocol, string? Profile = null, FrontEndHints? Hints = null);

/// <summary>The front end's own words in refusals the issuance makes (the issuance knows no paths or headers).</summary>
/// <param name="HowToSendToken">The sentence telling a client how to present the enrollment token.</param>
/// <param name="WhereProfileIs">Where the front end serves a profile's operation, e.g. <c>/.well-known/est/server/</c>.</param>
public sealed record FrontEndHints(string HowToSendToken, Func<string, string> WhereProfileIs);
