using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace PkiService.AspNetCore.Authorization;

/// <summary>
/// Lets a rule's list be given as one value: <c>--PkiClient:Authorization:admins:SpiffePrefix=spiffe://x/admin/</c>
/// on the command line (or <c>"SpiffePrefix": "spiffe://x/admin/"</c> in JSON). The configuration binder fills a
/// <c>List&lt;string&gt;</c> only from children (<c>SpiffePrefix:0</c>, ...) and leaves it empty for a scalar; this
/// adds the scalar as the single entry.
/// </summary>
internal sealed class ScalarRuleBinding(IServiceProvider services) : IConfigureOptions<PkiClientOptions>
{
    private static readonly (string Key, Func<PkiAuthorizationRule, List<string>> List)[] Lists =
    [
        (nameof(PkiAuthorizationRule.SpiffePrefix), r => r.SpiffePrefix),
        (nameof(PkiAuthorizationRule.UriPrefix), r => r.UriPrefix),
        (nameof(PkiAuthorizationRule.CommonName), r => r.CommonName),
        (nameof(PkiAuthorizationRule.DnsPattern), r => r.DnsPattern),
        (nameof(PkiAuthorizationRule.Profile), r => r.Profile),
    ];

    public void Configure(PkiClientOptions options)
    {
        if (services.GetService(typeof(IConfiguration)) is IConfiguration configuration)
        {
            Apply(options, configuration.GetSection($"{PkiClientOptions.SectionName}:{nameof(PkiClientOptions.Authorization)}"));
        }
    }

    public static void Apply(PkiClientOptions options, IConfigurationSection authorization)
    {
        foreach (var policy in authorization.GetChildren())
        {
            foreach (var (key, list) in Lists)
            {
                var section = policy.GetSection(key);
                if (section.Value is { Length: > 0 } single)
                {
                    if (!options.Authorization.TryGetValue(policy.Key, out var rule))
                    {
                        options.Authorization[policy.Key] = rule = new PkiAuthorizationRule();
                    }
                    if (!list(rule).Contains(single, StringComparer.Ordinal))
                    {
                        list(rule).Add(single);
                    }
                }
            }
        }
    }
}
