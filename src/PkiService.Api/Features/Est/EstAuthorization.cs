using System.Text;
using PkiService.Api.Infrastructure;

namespace PkiService.Api.Features.Est;

/// <summary>
/// The enrollment token of an EST request (RFC 7030 3.2.3: HTTP-based client authentication). Two forms:
/// <list type="bullet">
/// <item><c>Authorization: Basic base64(user:token)</c> (RFC 7617): the password is the one-time enrollment token and
/// the user name is ignored, because EST clients (libest, Bouncy Castle, routers) insist on sending one and the
/// token alone already names the certificate's CN and SANs; requiring the CN there would add nothing an attacker
/// without the token could not guess.</item>
/// <item><c>Authorization: Bearer token</c> (RFC 6750), as on <c>POST /api/v1/enroll</c>.</item>
/// </list>
/// Anything else (no header, another scheme, Basic that is not base64 of <c>user:password</c>) yields no token, which
/// issuance answers with 401.
/// </summary>
public static class EstAuthorization
{
    /// <summary>Longest token accepted, as for Bearer (<see cref="Secrets.ReadBearer"/>).</summary>
    private const int MaxTokenLength = 512;

    /// <summary>The token presented in <paramref name="authorizationHeader"/>, or null when there is none.</summary>
    public static string? ReadToken(string? authorizationHeader)
    {
        if (authorizationHeader is null)
        {
            return null;
        }
        const string basic = "Basic ";
        if (!authorizationHeader.StartsWith(basic, StringComparison.OrdinalIgnoreCase))
        {
            return Secrets.ReadBearer(authorizationHeader);
        }
        var encoded = authorizationHeader[basic.Length..].Trim();
        if (encoded.Length == 0 || encoded.Length > 4 * MaxTokenLength)
        {
            return null;
        }
        string credentials;
        try
        {
            credentials = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Convert.FromBase64String(encoded));
        }
        catch (Exception exception) when (exception is FormatException or DecoderFallbackException)
        {
            return null;
        }
        // RFC 7617 2: user-id ":" password, the user-id cannot contain a colon, the password can.
        var colon = credentials.IndexOf(':', StringComparison.Ordinal);
        var password = colon < 0 ? "" : credentials[(colon + 1)..];
        return password.Length is > 0 and <= MaxTokenLength ? password : null;
    }
}
