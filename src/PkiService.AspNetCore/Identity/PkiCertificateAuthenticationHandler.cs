using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PkiService.AspNetCore.Trust;

namespace PkiService.AspNetCore.Identity;

/// <summary>
/// The default authentication scheme (<see cref="PkiAuthenticationDefaults.Scheme"/>): the connection's client
/// certificate, once it chains to the pinned root, becomes a principal with the claims of <see cref="PkiClaimTypes"/>.
/// No certificate: no result (401 where authentication is required). The chain verdict and the claims are computed
/// once per certificate; time and revocation are the per-request check's.
/// </summary>
internal sealed class PkiCertificateAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    ClientCertificateValidator validator) : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (Context.Connection.ClientCertificate is not { } certificate)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        var info = ClientCertificateInfo.Of(certificate);
        // A listener this package did not configure could hand over a certificate nobody checked.
        if (info.ChainVerdict(validator) is { } refusal)
        {
            return Task.FromResult(AuthenticateResult.Fail($"client certificate refused: {refusal}"));
        }
        var identity = new ClaimsIdentity(info.Claims, Scheme.Name, PkiClaimTypes.CommonName, roleType: null);
        var ticket = new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name);
        return Task.FromResult(AuthenticateResult.Success(ticket));
    }
}
