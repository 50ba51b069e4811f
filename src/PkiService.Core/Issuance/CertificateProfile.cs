using Org.BouncyCastle.Asn1.X509;

namespace PkiService.Core.Issuance;

/// <summary>
/// What a certificate of one kind looks like. Extensions and validity come from here, never from the CSR.
/// </summary>
public sealed record CertificateProfile(
    string Name,
    KeyPurposeID ExtendedKeyUsage,
    TimeSpan DefaultValidity,
    TimeSpan MaxValidity,
    bool RequiresSubjectAltName)
{
    /// <summary>mTLS client certificates: EKU clientAuth (RFC 5280 4.2.1.12).</summary>
    public static readonly CertificateProfile Client = new(
        "client", KeyPurposeID.id_kp_clientAuth, TimeSpan.FromDays(90), TimeSpan.FromDays(397), RequiresSubjectAltName: false);

    /// <summary>TLS server certificates: EKU serverAuth; a SAN is required because clients ignore the CN (RFC 6125 6.4.4).</summary>
    public static readonly CertificateProfile Server = new(
        "server", KeyPurposeID.id_kp_serverAuth, TimeSpan.FromDays(90), TimeSpan.FromDays(397), RequiresSubjectAltName: true);

    /// <summary>Every profile, by name.</summary>
    public static IReadOnlyDictionary<string, CertificateProfile> All { get; } =
        new Dictionary<string, CertificateProfile>(StringComparer.Ordinal) { [Client.Name] = Client, [Server.Name] = Server };

    /// <summary>Finds a profile by name.</summary>
    public static bool TryGet(string? name, out CertificateProfile profile)
    {
        profile = null!;
        return name is not null && All.TryGetValue(name, out profile!);
    }

    /// <summary>The validity to issue with: the requested one, or the default, capped at the profile's maximum.</summary>
    public TimeSpan EffectiveValidity(TimeSpan? requested)
    {
        var validity = requested ?? DefaultValidity;
        return validity > MaxValidity ? MaxValidity : validity;
    }
}
