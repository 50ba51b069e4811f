using System.Net;
using PkiService.Core.Errors;
using PkiService.Core.Primitives;

namespace PkiService.Core.Issuance;

/// <summary>
/// The names, profiles and validity an API key may put into the enrollment tokens it creates. Anything the policy
/// does not list is refused: a DNS SAN must fall under one of <see cref="DnsSuffixes"/>, a URI SAN start with one of
/// <see cref="UriPrefixes"/>, an IP SAN lie in one of <see cref="IpNetworks"/>, an e-mail SAN's domain fall under a
/// DNS suffix; the CN must match <see cref="CommonNamePattern"/> (or, without one, fit as a DNS name or IP address);
/// the profile must be listed; and the token's validity cap may not exceed <see cref="MaxValidity"/>.
/// </summary>
/// <param name="DnsSuffixes">
/// A-label suffixes. <c>example.org</c> allows example.org and every name below it; <c>.example.org</c> only names
/// below it. Matching is on label boundaries, so neither allows <c>badexample.org</c>. A wildcard SAN fits when its
/// whole form does (<c>*.a.example.org</c> fits <c>.example.org</c>; <c>*.example.org</c> does not fit <c>.a.example.org</c>).
/// </param>
/// <param name="UriPrefixes">Absolute URIs ending in '/' (or ':' for URNs); a URI SAN fits when it starts with one, character for character.</param>
/// <param name="IpNetworks">CIDR networks an IP SAN (or IP CN) must lie in.</param>
/// <param name="CommonNamePattern">A <see cref="CommonNameGlob"/> the CN must match; null to require the CN to fit as a name.</param>
/// <param name="Profiles">The profiles tokens may use.</param>
/// <param name="MaxValidity">The longest certificate validity a token may allow; null for the profile's maximum.</param>
public sealed record NamePolicy(
    IReadOnlyList<string> DnsSuffixes,
    IReadOnlyList<string> UriPrefixes,
    IReadOnlyList<IPNetwork> IpNetworks,
    CommonNameGlob? CommonNamePattern,
    IReadOnlyList<string> Profiles,
    TimeSpan? MaxValidity)
{
    /// <summary>The profiles a policy allows when it lists none: client certificates only.</summary>
    public static readonly IReadOnlyList<string> DefaultProfiles = [CertificateProfile.Client.Name];

    /// <summary>
    /// Checks a token's CN, SANs (already in stored form, <see cref="SubjectAltName.TryParse"/>), profile and validity cap
    /// against the policy. Throws <see cref="PolicyRefusedException"/> naming the first name or value that does not fit
    /// and the rule it breaks.
    /// </summary>
    public void Authorize(string commonName, IReadOnlyList<SubjectAltName> sans, string profile, TimeSpan? maxValidity)
    {
        ArgumentNullException.ThrowIfNull(commonName);
        ArgumentNullException.ThrowIfNull(sans);
        if (!Profiles.Contains(profile, StringComparer.Ordinal))
        {
            throw Refused($"profile '{profile}' is not in its profiles ({string.Join(", ", Profiles)})");
        }
        if (maxValidity is { } cap && MaxValidity is { } limit && cap > limit)
        {
            throw Refused($"maxValidity {IsoDuration.Format(cap)} exceeds its maxValidity {IsoDuration.Format(limit)}");
        }
        if (CommonNamePattern is { } pattern)
        {
            if (!pattern.IsMatch(commonName))
            {
                throw Refused($"CN '{commonName}' does not match its commonNamePattern '{pattern}'");
            }
        }
        else if (NameSyntax.TryParseSubjectAltName(commonName, out var asName, out _)
                 && asName.Kind is SubjectAltNameKind.Dns or SubjectAltNameKind.IpAddress)
        {
            if (WhyNot(asName) is { } rule)
            {
                throw Refused($"CN '{commonName}' {rule} (without a commonNamePattern the CN must fit as a DNS name or IP address)");
            }
        }
        else
        {
            throw Refused($"CN '{commonName}' is neither a DNS name nor an IP address and the policy has no commonNamePattern");
        }
        foreach (var san in sans)
        {
            if (WhyNot(san) is { } rule)
            {
                throw Refused($"SAN '{san.Value}' {rule}");
            }
        }
    }

    /// <summary>Why <paramref name="name"/> does not fit, naming the rule; null when it fits.</summary>
    private string? WhyNot(SubjectAltName name) => name.Kind switch
    {
        SubjectAltNameKind.Dns => DnsSuffixes.Any(s => FitsSuffix(name.Value, s))
            ? null
            : $"is under none of its dnsSuffixes ({List(DnsSuffixes)})",
        SubjectAltNameKind.Email => DnsSuffixes.Any(s => FitsSuffix(name.Value[(name.Value.LastIndexOf('@') + 1)..], s))
            ? null
            : $"has a domain under none of its dnsSuffixes ({List(DnsSuffixes)})",
        SubjectAltNameKind.Uri => UriPrefixes.Any(p => name.Value.StartsWith(p, StringComparison.Ordinal))
            ? null
            : $"starts with none of its uriPrefixes ({List(UriPrefixes)})",
        SubjectAltNameKind.IpAddress => IPAddress.TryParse(name.Value, out var ip) && IpNetworks.Any(n => n.Contains(ip))
            ? null
            : $"is in none of its ipNetworks ({List(IpNetworks.Select(n => n.ToString()).ToList())})",
        _ => "is of a kind the policy does not cover",
    };

    /// <summary>
    /// Label-boundary suffix match: <c>.example.org</c> takes names strictly below example.org, <c>example.org</c> takes
    /// example.org itself too (as a dNSName constraint does, RFC 5280 4.2.1.10). Both are in lower-case A-labels.
    /// </summary>
    public static bool FitsSuffix(string dnsName, string suffix)
    {
        ArgumentNullException.ThrowIfNull(dnsName);
        ArgumentNullException.ThrowIfNull(suffix);
        return suffix.StartsWith('.')
            ? dnsName.Length > suffix.Length && dnsName.EndsWith(suffix, StringComparison.Ordinal)
            : dnsName == suffix || dnsName.EndsWith("." + suffix, StringComparison.Ordinal);
    }

    private static string List(IReadOnlyList<string> items) => items.Count == 0 ? "none listed" : string.Join(", ", items);

    private static PolicyRefusedException Refused(string rule) =>
        new($"The API key's name policy refuses this token: {rule}. Ask for a token within the policy, or an admin for a wider policy.");

    /// <summary>
    /// Checks one DNS suffix of a policy and gives its stored form (lower-case A-labels, a leading dot kept); null
    /// with an error naming it and the fix otherwise.
    /// </summary>
    public static string? TryDnsSuffix(string? text, out string error)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "A DNS suffix may not be empty; give one such as .example.org (names below it) or example.org (it and names below).";
            return null;
        }
        var trimmed = text.Trim();
        var leadingDot = trimmed.StartsWith('.');
        if (NameSyntax.TryDnsName(leadingDot ? trimmed[1..] : trimmed, allowWildcard: false, out var dnsError) is not { } name)
        {
            error = $"dnsSuffix '{text}' is not a DNS suffix: {dnsError}";
            return null;
        }
        error = "";
        return (leadingDot ? "." : "") + name;
    }

    /// <summary>Checks one URI prefix of a policy: an absolute URI that ends in '/' (or ':'), so it matches on a boundary.</summary>
    public static string? TryUriPrefix(string? text, out string error)
    {
        if (!NameSyntax.TryParseSubjectAltName(text, out var name, out var uriError) || name.Kind != SubjectAltNameKind.Uri)
        {
            error = $"uriPrefix '{text}' is not an absolute URI{(name is null ? ": " + uriError : "")}; give one such as spiffe://example.org/team-a/.";
            return null;
        }
        if (!name.Value.EndsWith('/') && !name.Value.EndsWith(':'))
        {
            error = $"uriPrefix '{text}' must end in '/' (or ':' for a URN) so that it matches whole path segments; write '{name.Value}/'.";
            return null;
        }
        error = "";
        return name.Value;
    }

    /// <summary>Checks one CIDR network of a policy, in canonical form (no host bits set: 10.1.0.0/16, not 10.1.0.1/16).</summary>
    public static IPNetwork? TryIpNetwork(string? text, out string error)
    {
        if (string.IsNullOrWhiteSpace(text) || !text.Contains('/') || !IPNetwork.TryParse(text.Trim(), out var network))
        {
            error = $"ipNetwork '{text}' is not a CIDR network; give one such as 10.1.0.0/16 or 2001:db8::/48.";
            return null;
        }
        if (!string.Equals(network.ToString(), text.Trim(), StringComparison.OrdinalIgnoreCase))
        {
            error = $"ipNetwork '{text}' has host bits set or is not in canonical form; write '{network}'.";
            return null;
        }
        error = "";
        return network;
    }
}

/// <summary>
/// A CN pattern: literal characters, compared case-insensitively, where each '*' stands for one or more characters
/// other than '.' (so within one DNS label). <c>device-*</c> matches device-7; <c>*.team-a.example.org</c> matches
/// web.team-a.example.org but not a.b.team-a.example.org. There are no other metacharacters and matching takes
/// pattern length times name length steps, so a pattern cannot be made to run long (unlike a backtracking regex).
/// </summary>
public sealed class CommonNameGlob
{
    /// <summary>The longest pattern accepted.</summary>
    public const int MaxLength = 128;

    private readonly string _pattern;

    private CommonNameGlob(string pattern) => _pattern = pattern;

    /// <summary>Checks a pattern; null with an error naming it and the fix otherwise.</summary>
    public static CommonNameGlob? TryParse(string? text, out string error)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Length > MaxLength)
        {
            error = $"commonNamePattern '{text}' must be 1 to {MaxLength} characters, such as 'device-*' or '*.team-a.example.org'.";
            return null;
        }
        if (NameSyntax.FindForbiddenCharacter(text) is { } forbidden)
        {
            error = $"commonNamePattern '{text}' contains {forbidden}; remove it.";
            return null;
        }
        if (text.Contains("**", StringComparison.Ordinal))
        {
            error = $"commonNamePattern '{text}' has '**'; one '*' already stands for one or more characters within a label.";
            return null;
        }
        error = "";
        return new CommonNameGlob(text);
    }

    /// <summary>Whether <paramref name="commonName"/> matches the whole pattern.</summary>
    public bool IsMatch(string commonName)
    {
        ArgumentNullException.ThrowIfNull(commonName);
        // matched[j]: the first i characters of the name match the first j characters of the pattern.
        var p = _pattern;
        var n = commonName;
        var matched = new bool[p.Length + 1];
        var next = new bool[p.Length + 1];
        matched[0] = true;
        for (var j = 1; j <= p.Length; j++)
        {
            matched[j] = false; // '*' needs at least one character
        }
        for (var i = 1; i <= n.Length; i++)
        {
            next[0] = false;
            for (var j = 1; j <= p.Length; j++)
            {
                next[j] = p[j - 1] == '*'
                    ? n[i - 1] != '.' && (matched[j - 1] || matched[j]) // start the run here, or extend it
                    : matched[j - 1] && char.ToLowerInvariant(p[j - 1]) == char.ToLowerInvariant(n[i - 1]);
            }
            (matched, next) = (next, matched);
        }
        return matched[p.Length];
    }

    public override string ToString() => _pattern;
}
