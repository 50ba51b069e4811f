using System.Security.Claims;

namespace PkiService.SampleApi;

/// <summary>What /whoami answers: each claim type the package put into the principal, with its values.</summary>
internal static class Claims
{
    public static Dictionary<string, string[]> Of(ClaimsPrincipal user) =>
        user.Claims.GroupBy(c => c.Type).ToDictionary(g => g.Key, g => g.Select(c => c.Value).ToArray());
}
