namespace PkiService.AspNetCore.Identity;

/// <summary>
/// The claim types of the principal a client certificate becomes (authentication scheme
/// <see cref="PkiAuthenticationDefaults.Scheme"/>). Short and stable: they are the names in <c>User.FindFirst(...)</c>
/// and in JSON an API may echo.
/// </summary>
public static class PkiClaimTypes
{
    /// <summary>The subject's common name (one claim per CN attribute).</summary>
    public const string CommonName = "cn";

    /// <summary>A DNS name of the subjectAltName (one claim each).</summary>
    public const string Dns = "dns";

    /// <summary>A URI of the subjectAltName (one claim each; SPIFFE IDs too).</summary>
    public const string Uri = "uri";

    /// <summary>An IP address of the subjectAltName, in its usual text form (one claim each).</summary>
    public const string IpAddress = "ip";

    /// <summary>An email address (rfc822Name) of the subjectAltName (one claim each).</summary>
    public const string Email = "email";

    /// <summary>The URI SAN that is a SPIFFE ID (<c>spiffe://trust-domain/path</c>), when there is one.</summary>
    public const string SpiffeId = "spiffe_id";

    /// <summary>The serial number, upper-case hex without leading zero bytes (as PkiService prints it).</summary>
    public const string SerialNumber = "serial";

    /// <summary>The issuer's distinguished name (RFC 4514 form, e.g. <c>CN=PkiService Issuing CA, O=Example</c>).</summary>
    public const string Issuer = "issuer";

    /// <summary>The end of validity, ISO 8601 UTC (<c>2027-03-01T12:00:00Z</c>).</summary>
    public const string NotAfter = "not_after";

    /// <summary>
    /// The PkiService profile, from the extended key usage (PkiService does not write the profile itself):
    /// <c>client</c> for clientAuth, <c>server</c> for serverAuth (one claim each).
    /// </summary>
    public const string Profile = "profile";
}

/// <summary>The authentication scheme that turns the connection's client certificate into a principal.</summary>
public static class PkiAuthenticationDefaults
{
    /// <summary>The scheme's name; <c>AddPkiClient</c> makes it the default scheme.</summary>
    public const string Scheme = "PkiCertificate";
}
