namespace PkiService.AspNetCore;

/// <summary>How revocation of client certificates is learnt (<c>PkiClient:Revocation</c>).</summary>
public enum PkiRevocationMode
{
    /// <summary>The current complete CRL plus PkiService's revocation stream; delta CRL polling while the stream is down.</summary>
    Push,

    /// <summary>Ask PkiService's OCSP responder per certificate; answers cached until their nextUpdate (slower to bite).</summary>
    Ocsp,

    /// <summary>Poll the complete and delta CRLs only.</summary>
    Crl,

    /// <summary>No revocation check (chain and validity only).</summary>
    None,
}

/// <summary>The <c>PkiClient</c> configuration section.</summary>
public sealed class PkiClientOptions
{
    /// <summary>The configuration section these options are read from.</summary>
    public const string SectionName = "PkiClient";

    /// <summary>Where PkiService is (its plain HTTP(S) listener), e.g. <c>http://pki.internal:5080</c>.</summary>
    public Uri? ServiceUrl { get; set; }

    /// <summary>SHA-256 of the root CA certificate's DER, hex (colons and case ignored). The fetched root is refused unless it matches.</summary>
    public string? RootFingerprint { get; set; }

    /// <summary>How revocation is checked; <see cref="PkiRevocationMode.Push"/> by default.</summary>
    public PkiRevocationMode Revocation { get; set; } = PkiRevocationMode.Push;

    /// <summary>When a certificate's status cannot be known (no fresh CRL, no stream, responder unreachable): refuse it. Default true.</summary>
    public bool FailClosed { get; set; } = true;

    /// <summary>
    /// How often the delta CRL (and, when its base moved, the complete CRL) is fetched while the revocation stream is
    /// down, or always with <see cref="PkiRevocationMode.Crl"/>; ISO 8601 duration, default <c>PT5S</c>.
    /// </summary>
    public string CrlPollInterval { get; set; } = "PT5S";

    /// <summary>
    /// Most revoked serials kept locally (complete CRL plus delta CRLs and stream events); over it every status is
    /// unknown (so <see cref="FailClosed"/> decides). Default 1,000,000 (about 100 MB).
    /// </summary>
    public int MaxRevokedSerials { get; set; } = 1_000_000;

    /// <summary>How long start-up retries while PkiService is unreachable before it fails; ISO 8601, default <c>PT1M</c>.</summary>
    public string StartupTimeout { get; set; } = "PT1M";

    /// <summary>
    /// The revocation stream is taken for dead when nothing (not even its keep-alive comment, sent every 15 s) arrived
    /// for this long; ISO 8601, default <c>PT45S</c>.
    /// </summary>
    public string StreamIdleTimeout { get; set; } = "PT45S";

    /// <summary>With <see cref="PkiRevocationMode.Ocsp"/>: most OCSP answers cached (each until its nextUpdate). Default 10,000.</summary>
    public int OcspCacheSize { get; set; } = 10_000;

    /// <summary>Named authorization policies (usable as <c>RequireAuthorization("name")</c>).</summary>
    public Dictionary<string, PkiAuthorizationRule> Authorization { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// One-time enrollment token (a <c>server</c>-profile token) for this API's own server certificate (optional). When
    /// set, the API enrolls at start for exactly the CN and SANs the token carries, serves that certificate on every HTTPS
    /// endpoint and renews it over mTLS; the key lives in memory only, so a restart needs a new token.
    /// </summary>
    public string? EnrollmentToken { get; set; }

    /// <summary>
    /// PkiService's mTLS listener (its <c>Pki:MtlsUrl</c>), where the server certificate is renewed
    /// (<c>POST {RenewalUrl}/api/v1/renew</c>). Default: <c>https://</c> + the host of <see cref="ServiceUrl"/> + <c>:5443</c>,
    /// PkiService's default port. Its TLS certificate is trusted through the pinned root only.
    /// </summary>
    public Uri? RenewalUrl { get; set; }

    /// <summary>
    /// The validity asked for the server certificate, ISO 8601 (default <c>P30D</c>); PkiService caps it by the profile
    /// and the token's <c>maxValidity</c>. It is renewed when two thirds of its life have passed.
    /// </summary>
    public string ServerCertificateValidity { get; set; } = "P30D";
}

/// <summary>
/// Who a named policy allows: a certificate matches when one of its identities is listed (any of
/// <see cref="SpiffePrefix"/>, <see cref="UriPrefix"/>, <see cref="CommonName"/>, <see cref="DnsPattern"/>), and, when
/// <see cref="Profile"/> is set, its profile is one of those.
/// </summary>
public sealed class PkiAuthorizationRule
{
    /// <summary>SPIFFE ID prefixes (<c>spiffe://example.org/admin/</c>).</summary>
    public List<string> SpiffePrefix { get; set; } = [];

    /// <summary>URI SAN prefixes.</summary>
    public List<string> UriPrefix { get; set; } = [];

    /// <summary>Exact common names.</summary>
    public List<string> CommonName { get; set; } = [];

    /// <summary>DNS SAN patterns; a leading <c>*.</c> matches exactly one label.</summary>
    public List<string> DnsPattern { get; set; } = [];

    /// <summary>Profiles (<c>client</c>, <c>server</c>) the certificate must have, when any is listed.</summary>
    public List<string> Profile { get; set; } = [];
}
