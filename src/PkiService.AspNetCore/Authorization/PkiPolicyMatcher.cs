using System.Security.Claims;
using PkiService.AspNetCore.Identity;

namespace PkiService.AspNetCore.Authorization;

/// <summary>
/// Whether a principal's certificate identities satisfy a <see cref="PkiAuthorizationRule"/>: one of its identities is
/// listed (SPIFFE ID or URI SAN under a prefix, exact CN, DNS SAN matching a pattern) and, when the rule lists
/// profiles, one of its profiles is listed. A rule that lists only profiles admits every identity of those profiles;
/// an empty rule admits nobody.
/// </summary>
internal static class PkiPolicyMatcher
{
    public static bool Matches(PkiAuthorizationRule rule, IEnumerable<Claim> claims)
    {
        var list = claims as IReadOnlyCollection<Claim> ?? claims.ToList();
        IEnumerable<string> Values(string type) => list.Where(c => c.Type == type).Select(c => c.Value);

        var listsIdentities = rule.SpiffePrefix.Count + rule.UriPrefix.Count + rule.CommonName.Count + rule.DnsPattern.Count > 0;
        if (!listsIdentities && rule.Profile.Count == 0)
        {
            return false;
        }
        var identityMatches = !listsIdentities
            || Values(PkiClaimTypes.SpiffeId).Any(id => rule.SpiffePrefix.Any(prefix => UnderPrefix(id, prefix)))
            || Values(PkiClaimTypes.Uri).Any(uri => rule.UriPrefix.Any(prefix => UnderPrefix(uri, prefix)))
            || Values(PkiClaimTypes.CommonName).Any(cn => rule.CommonName.Contains(cn, StringComparer.Ordinal))
            || Values(PkiClaimTypes.Dns).Any(dns => rule.DnsPattern.Any(pattern => DnsMatches(dns, pattern)));
        var profileMatches = rule.Profile.Count == 0
            || Values(PkiClaimTypes.Profile).Any(profile => rule.Profile.Contains(profile, StringComparer.OrdinalIgnoreCase));
        return identityMatches && profileMatches;
    }

    /// <summary>
    /// <paramref name="value"/> is the prefix itself or lies under it at a path boundary: <c>spiffe://x/admin</c> and
    /// <c>spiffe://x/admin/</c> both admit <c>spiffe://x/admin/alice</c>, neither admits <c>spiffe://x/administrator</c>.
    /// Case-sensitive (SPIFFE-ID 2.2: paths are).
    /// </summary>
    public static bool UnderPrefix(string value, string prefix)
    {
        if (prefix.Length == 0 || !value.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }
        return value.Length == prefix.Length || prefix.EndsWith('/') || value[prefix.Length] == '/';
    }

    /// <summary>DNS names compare case-insensitively (RFC 4343); a leading <c>*.</c> matches exactly one label (RFC 6125 6.4.3).</summary>
    public static bool DnsMatches(string name, string pattern)
    {
        name = name.TrimEnd('.');
        pattern = pattern.TrimEnd('.');
        if (pattern.StartsWith("*.", StringComparison.Ordinal))
        {
            var suffix = pattern[1..];
            if (!name.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
            var label = name[..^suffix.Length];
            return label.Length > 0 && !label.Contains('.') && label != "*";
        }
        return string.Equals(name, pattern, StringComparison.OrdinalIgnoreCase);
    }
}
