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

    /// <summary>Reads a BouncyCastle <see cref="GeneralName"/>; null for kinds we do not issue.</summary>
    public static SubjectAltName? FromGeneralName(GeneralName name) => name.TagNo switch
    {
        GeneralName.DnsName => new SubjectAltName(SubjectAltNameKind.Dns, name.Name.ToString()!.ToLowerInvariant()),
        GeneralName.Rfc822Name => new SubjectAltName(SubjectAltNameKind.Email, name.Name.ToString()!),
        GeneralName.UniformResourceIdentifier => new SubjectAltName(SubjectAltNameKind.Uri, name.Name.ToString()!),
        GeneralName.IPAddress => new SubjectAltName(
            SubjectAltNameKind.IpAddress,
            new IPAddress(Org.BouncyCastle.Asn1.Asn1OctetString.GetInstance(name.Name).GetOctets()).ToString()),
        _ => null,
    };

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
