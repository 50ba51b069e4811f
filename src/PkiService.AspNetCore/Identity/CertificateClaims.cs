using System.Net;
using System.Security.Claims;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;

namespace PkiService.AspNetCore.Identity;

/// <summary>The claims of a client certificate (<see cref="PkiClaimTypes"/>).</summary>
internal static class CertificateClaims
{
    /// <summary>id-kp-clientAuth (RFC 5280 4.2.1.12).</summary>
    public const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    /// <summary>id-kp-serverAuth (RFC 5280 4.2.1.12).</summary>
    public const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    private const string SubjectAltNameOid = "2.5.29.17";
    private const string Issuer = "PkiService";

    public static Claim[] From(X509Certificate2 certificate, string serialNumber)
    {
        var claims = new List<Claim>();
        foreach (var cn in CommonNames(certificate.SubjectName))
        {
            claims.Add(Make(PkiClaimTypes.CommonName, cn));
        }
        var spiffeAdded = false;
        foreach (var (type, value) in SubjectAltNames(certificate))
        {
            claims.Add(Make(type, value));
            if (type == PkiClaimTypes.Uri && !spiffeAdded && IsSpiffeId(value))
            {
                // SPIFFE X.509-SVID 2: exactly one URI SAN is the SPIFFE ID; the first one is taken.
                claims.Add(Make(PkiClaimTypes.SpiffeId, value));
                spiffeAdded = true;
            }
        }
        claims.Add(Make(PkiClaimTypes.SerialNumber, serialNumber));
        claims.Add(Make(PkiClaimTypes.Issuer, certificate.IssuerName.Name));
        claims.Add(Make(PkiClaimTypes.NotAfter, certificate.NotAfter.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture)));
        foreach (var profile in Profiles(certificate))
        {
            claims.Add(Make(PkiClaimTypes.Profile, profile));
        }
        return [.. claims];
    }

    /// <summary>The profiles PkiService issued this certificate under, read back from its extended key usage.</summary>
    public static IEnumerable<string> Profiles(X509Certificate2 certificate)
    {
        var usages = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault()?.EnhancedKeyUsages;
        if (usages is null)
        {
            yield break;
        }
        var oids = usages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value).ToHashSet(StringComparer.Ordinal);
        if (oids.Contains(ClientAuthOid))
        {
            yield return "client";
        }
        if (oids.Contains(ServerAuthOid))
        {
            yield return "server";
        }
    }

    /// <summary>A SPIFFE ID: scheme <c>spiffe</c>, a trust domain, no query, fragment, port or user info (SPIFFE-ID 2).</summary>
    public static bool IsSpiffeId(string uri) =>
        uri.StartsWith("spiffe://", StringComparison.Ordinal)
        && Uri.TryCreate(uri, UriKind.Absolute, out var parsed)
        && parsed.Host.Length > 0 && parsed.IsDefaultPort && parsed.UserInfo.Length == 0
        && parsed.Query.Length == 0 && parsed.Fragment.Length == 0;

    private static IEnumerable<string> CommonNames(X500DistinguishedName name)
    {
        foreach (var rdn in name.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.GetSingleElementType().Value == "2.5.4.3" && rdn.GetSingleElementValue() is { } value)
            {
                yield return value;
            }
        }
    }

    /// <summary>RFC 5280 4.2.1.6: the DNS, URI, IP and rfc822 names of the subjectAltName, in order.</summary>
    private static IEnumerable<(string Type, string Value)> SubjectAltNames(X509Certificate2 certificate)
    {
        var extension = certificate.Extensions[SubjectAltNameOid];
        if (extension is null)
        {
            yield break;
        }
        var names = GeneralNames.GetInstance(Asn1Object.FromByteArray(extension.RawData));
        foreach (var name in names.GetNames())
        {
            switch (name.TagNo)
            {
                case GeneralName.DnsName:
                    yield return (PkiClaimTypes.Dns, ((IAsn1String)name.Name).GetString());
                    break;
                case GeneralName.UniformResourceIdentifier:
                    yield return (PkiClaimTypes.Uri, ((IAsn1String)name.Name).GetString());
                    break;
                case GeneralName.Rfc822Name:
                    yield return (PkiClaimTypes.Email, ((IAsn1String)name.Name).GetString());
                    break;
                case GeneralName.IPAddress:
                    var octets = Asn1OctetString.GetInstance(name.Name).GetOctets();
                    if (octets.Length is 4 or 16)
                    {
                        yield return (PkiClaimTypes.IpAddress, new IPAddress(octets).ToString());
                    }
                    break;
            }
        }
    }

    private static Claim Make(string type, string value) => new(type, value, ClaimValueTypes.String, Issuer);
}
