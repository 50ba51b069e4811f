namespace PkiService.Core.Issuance;

/// <summary>Where an <see cref="IssuanceGrant"/> comes from (smallstep calls these provisioners).</summary>
public enum GrantSource
{
    /// <summary>A one-time enrollment token; <see cref="IssuanceGrant.SourceId"/> is the token id, consumed by the issuance.</summary>
    EnrollmentToken,

    /// <summary>The certificate being renewed, presented over mTLS; <see cref="IssuanceGrant.SourceId"/> is its serial.</summary>
    CurrentCertificate,

    /// <summary>The service itself (its own TLS listener certificate); <see cref="IssuanceGrant.SourceId"/> names the use.</summary>
    Service,
}

/// <summary>
/// Who may get which certificate: the one shape every issuance takes, whatever authorized it. It holds the names
/// the certificate may carry, the profile it is issued under, the longest validity it may get, and who or what
/// granted it, with the enrollment token and contact e-mail the issued certificate is attributed to.
/// </summary>
/// <param name="Source">What kind of credential granted the issuance.</param>
/// <param name="SourceId">Which one: a token id, a certificate serial, or the service's own use.</param>
/// <param name="Names">The CN and SANs the certificate may carry.</param>
/// <param name="Profile">The profile it is issued under (extensions, default and maximum validity).</param>
/// <param name="MaxValidity">A cap below the profile's maximum, or null for the profile's maximum only.</param>
/// <param name="EnrollmentTokenId">The token the certificate is attributed to (kept across renewals), if any.</param>
/// <param name="ContactEmail">Who is warned before the certificate expires, if anyone.</param>
public sealed record IssuanceGrant(
    GrantSource Source,
    string SourceId,
    NameAuthorization Names,
    CertificateProfile Profile,
    TimeSpan? MaxValidity,
    string? EnrollmentTokenId,
    string? ContactEmail)
{
    /// <summary>A grant the service gives itself (its own listener certificate), attributed to no token or contact.</summary>
    public static IssuanceGrant ForService(string use, NameAuthorization names, CertificateProfile profile) =>
        new(GrantSource.Service, use, names, profile, MaxValidity: null, EnrollmentTokenId: null, ContactEmail: null);

    /// <summary>The one-time token this issuance consumes, when it was granted by one; null otherwise.</summary>
    public string? ConsumedTokenId => Source == GrantSource.EnrollmentToken ? SourceId : null;

    /// <summary>The serial of the certificate this issuance supersedes (a renewal), which must still be active; null otherwise.</summary>
    public string? SupersededSerial => Source == GrantSource.CurrentCertificate ? SourceId : null;
}
