using System.Net;
using Org.BouncyCastle.Asn1.X509;

namespace PkiService.Core.Primitives;

/// <summary>The kinds of subject alternative name we issue (RFC 5280 4.2.1.6).</summary>
public enum SubjectAltNameKind
{
    Dns,
    IpAddress,
    Email,
    Uri,
}

/// <summary>One subject alternative name, in the text form the API uses.</summary>
public sealed record SubjectAltName(SubjectAltNameKind Kind, string Value)
{
    /// <summary>
    /// Classifies a SAN string the way the API contract says (<see cref="NameSyntax.KindOf"/>): an IP when it parses
    /// as one, a URI when it starts with a scheme, an e-mail when it has '@', else a DNS name. It does not check the
    /// syntax: names from outside go through <see cref="TryParse"/>; this reads names already stored.
    /// </summary>
    public static SubjectAltName Classify(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        text = text.Trim();
        return NameSyntax.KindOf(text) switch
        {
            SubjectAltNameKind.IpAddress when IPAddress.TryParse(text, out var ip) => new SubjectAltName(SubjectAltNameKind.IpAddress, ip.ToString()),
            SubjectAltNameKind.Uri => new SubjectAltName(SubjectAltNameKind.Uri, text),
            SubjectAltNameKind.Email => new SubjectAltName(SubjectAltNameKind.Email, text),
            _ => new SubjectAltName(SubjectAltNameKind.Dns, text.ToLowerInvariant()),
        };
    }

    /// <summary>
    /// Reads a BouncyCastle <see cref="GeneralName"/>; null for kinds we do not issue. Throws <see cref="FormatException"/>
    /// naming what is wrong when the name breaks RFC 5280 4.2.1.6: an iPAddress that is not 4 or 16 octets, a dNSName,
    /// rfc822Name or URI that is empty or not printable ASCII (IA5String, and no spaces), a URI that is not absolute, an
    /// rfc822Name without a local part and a domain.
    /// </summary>
    public static SubjectAltName? FromGeneralName(GeneralName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        switch (name.TagNo)
        {
            case GeneralName.DnsName:
                return new SubjectAltName(SubjectAltNameKind.Dns, ReadText(name, "dNSName", "write internationalized names in their A-label (xn--) form").ToLowerInvariant());
            case GeneralName.Rfc822Name:
                var email = ReadText(name, "rfc822Name", "write the address in ASCII");
                var at = email.LastIndexOf('@');
                if (at <= 0 || at == email.Length - 1)
                {
                    throw new FormatException($"rfc822Name '{email}' is not an e-mail address; write it as local-part@domain.");
                }
                return new SubjectAltName(SubjectAltNameKind.Email, email);
            case GeneralName.UniformResourceIdentifier:
                var text = ReadText(name, "URI", "percent-encode other characters (RFC 3986 2.1)");
                // RFC 5280 4.2.1.6: "The name MUST NOT be a relative URI ... MUST include both a scheme and a
                // scheme-specific-part". The scheme check matters: .NET reads "/path" as an absolute file: URI.
                var colon = text.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0 || colon == text.Length - 1 || !Uri.TryCreate(text, UriKind.Absolute, out var uri)
                    || !string.Equals(uri.Scheme, text[..colon], StringComparison.OrdinalIgnoreCase))
                {
                    throw new FormatException($"URI '{text}' is not an absolute URI; write it with a scheme, such as spiffe://example.org/workload.");
                }
                return new SubjectAltName(SubjectAltNameKind.Uri, text);
            case GeneralName.IPAddress:
                var octets = Org.BouncyCastle.Asn1.Asn1OctetString.GetInstance(name.Name).GetOctets();
                // RFC 5280 4.2.1.6: four octets for IPv4, sixteen for IPv6 (the 8/32-octet address+mask forms belong to name constraints).
                if (octets.Length is not (4 or 16))
                {
                    throw new FormatException($"iPAddress of {octets.Length} octets is not an address; an IP SAN is 4 octets (IPv4) or 16 (IPv6).");
                }
                return new SubjectAltName(SubjectAltNameKind.IpAddress, new IPAddress(octets).ToString());
            default:
                return null;
        }
    }

    /// <summary>The IA5String of a dNSName, rfc822Name or URI, checked to be non-empty printable ASCII without spaces.</summary>
    private static string ReadText(GeneralName name, string what, string fix)
    {
        // Checked on the content octets: BouncyCastle's GetString() turns every octet over 0x7F into '?'.
        var octets = Org.BouncyCastle.Asn1.DerIA5String.GetInstance(name.Name).GetOctets();
        if (octets.Length == 0)
        {
            throw new FormatException($"{what} is empty; leave the name out instead.");
        }
        if (octets.Any(b => b is <= (byte)' ' or > (byte)'~'))
        {
            // Shown with the offending octets as \xNN, so nothing unprintable reaches a message or a log.
            var shown = string.Concat(octets.Select(b => b is < (byte)' ' or > (byte)'~' ? $"\\x{b:X2}" : ((char)b).ToString()));
            throw new FormatException($"{what} '{shown}' must be printable ASCII without spaces (an IA5String, RFC 5280 4.2.1.6); {fix}.");
        }
        return System.Text.Encoding.ASCII.GetString(octets);
    }

    /// <summary>The SANs of a certificate we issue (kinds we do not issue are left out).</summary>
    public static IReadOnlyList<SubjectAltName> FromCertificate(Org.BouncyCastle.X509.X509Certificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var extension = certificate.GetExtensionValue(X509Extensions.SubjectAlternativeName);
        if (extension is null)
        {
            return [];
        }
        var names = GeneralNames.GetInstance(Org.BouncyCastle.Asn1.Asn1Object.FromByteArray(extension.GetOctets()));
        return names.GetNames().Select(FromGeneralName).OfType<SubjectAltName>().ToList();
    }

    /// <summary>The BouncyCastle form for certificate building.</summary>
    public GeneralName ToGeneralName() => Kind switch
    {
        SubjectAltNameKind.Dns => new GeneralName(GeneralName.DnsName, Value),
        SubjectAltNameKind.Email => new GeneralName(GeneralName.Rfc822Name, Value),
        SubjectAltNameKind.Uri => new GeneralName(GeneralName.UniformResourceIdentifier, Value),
        SubjectAltNameKind.IpAddress => new GeneralName(GeneralName.IPAddress, Value),
        _ => throw new InvalidOperationException($"Unknown SAN kind {Kind}."),
    };

    /// <summary>
    /// Checks a SAN string from outside and gives it in its stored form (A-label DNS names, canonical IPs); false with
    /// a message that names the value and the fix when it cannot go into a certificate. See <see cref="NameSyntax"/>.
    /// </summary>
    public static bool TryParse(string? text, out SubjectAltName name, out string error) =>
        NameSyntax.TryParseSubjectAltName(text, out name, out error);

    public override string ToString() => Value;
}
