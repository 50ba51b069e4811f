using System.Text.Json;
using PkiService.Core.Errors;
using PkiService.Core.Issuance;
using PkiService.Core.Primitives;

namespace PkiService.Api.Issuance;

/// <summary>
/// An API key's name policy as the API takes and shows it, and as <c>ApiKeyRecord.NamePolicy</c> stores it (JSON).
/// Every list left out allows nothing of its kind; see <see cref="NamePolicy"/> for the rules.
/// </summary>
/// <param name="DnsSuffixes">DNS SANs (and e-mail domains) allowed: ".example.org" for names below it, "example.org" for it and names below.</param>
/// <param name="UriPrefixes">URI SANs allowed: absolute URIs ending in '/' (or ':'), such as "spiffe://example.org/team-a/".</param>
/// <param name="IpNetworks">IP SANs allowed: CIDR networks such as "10.1.0.0/16".</param>
/// <param name="CommonNamePattern">The CN allowed: literal text where '*' is one or more characters other than '.', such as "device-*". Without it the CN must fit as a DNS name or IP.</param>
/// <param name="Profiles">Profiles allowed (default: client only).</param>
/// <param name="MaxValidity">Longest certificate validity a token may allow, ISO 8601 (such as P30D); tokens without their own get this one.</param>
public sealed record NamePolicyDocument(
    string[]? DnsSuffixes,
    string[]? UriPrefixes,
    string[]? IpNetworks,
    string? CommonNamePattern,
    string[]? Profiles,
    string? MaxValidity)
{
    /// <summary>At most this many entries per list: a policy is read on every token creation.</summary>
    public const int MaxEntries = 50;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The policy this document describes; <see cref="InvalidRequestException"/> naming the first bad entry otherwise.</summary>
    public NamePolicy ToPolicy()
    {
        return new NamePolicy(
            (DnsSuffixes ?? []).Select(s => NamePolicy.TryDnsSuffix(s, out var e) ?? throw new InvalidRequestException(e)).Distinct().ToList(),
            (UriPrefixes ?? []).Select(s => NamePolicy.TryUriPrefix(s, out var e) ?? throw new InvalidRequestException(e)).Distinct().ToList(),
            (IpNetworks ?? []).Select(s => NamePolicy.TryIpNetwork(s, out var e) ?? throw new InvalidRequestException(e)).Distinct().ToList(),
            CommonNamePattern is null ? null : CommonNameGlob.TryParse(CommonNamePattern, out var globError) ?? throw new InvalidRequestException(globError),
            Profiles is { Length: > 0 } profiles
                ? profiles.Select(p => CertificateProfile.TryGet(p, out _) ? p : throw new InvalidRequestException(UnknownProfile(p))).Distinct().ToList()
                : NamePolicy.DefaultProfiles,
            MaxValidity is null ? null : IsoDuration.TryParse(MaxValidity, out var max) ? max : throw new InvalidRequestException($"maxValidity '{MaxValidity}' is not an ISO 8601 duration."));
    }

    /// <summary>The error for a profile name that is not one.</summary>
    public static string UnknownProfile(string? profile) =>
        $"namePolicy profile '{profile}' is not a profile; use one of: {string.Join(", ", CertificateProfile.All.Keys)}.";

    /// <summary>The document in the form it is stored and shown: entries normalized (A-labels, canonical networks), durations in ISO 8601.</summary>
    public NamePolicyDocument Normalized()
    {
        var policy = ToPolicy();
        return new NamePolicyDocument(
            [.. policy.DnsSuffixes],
            [.. policy.UriPrefixes],
            [.. policy.IpNetworks.Select(n => n.ToString())],
            policy.CommonNamePattern?.ToString(),
            [.. policy.Profiles],
            policy.MaxValidity is { } max ? IsoDuration.Format(max) : null);
    }

    /// <summary>The stored JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads the stored JSON; null when the key has no policy.</summary>
    public static NamePolicyDocument? FromJson(string? json) =>
        string.IsNullOrEmpty(json) ? null : JsonSerializer.Deserialize<NamePolicyDocument>(json, Json);
}
