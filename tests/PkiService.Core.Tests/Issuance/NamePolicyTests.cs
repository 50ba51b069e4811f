using System.Net;
using PkiService.Core.Errors;
using PkiService.Core.Issuance;
using PkiService.Core.Primitives;

namespace PkiService.Core.Tests.Issuance;

public sealed class NamePolicyTests
{
    private static NamePolicy Policy(
        string[]? dnsSuffixes = null, string[]? uriPrefixes = null, string[]? ipNetworks = null, string? pattern = null,
        string[]? profiles = null, TimeSpan? maxValidity = null) => new(
            dnsSuffixes ?? [],
            uriPrefixes ?? [],
            (ipNetworks ?? []).Select(IPNetwork.Parse).ToList(),
            pattern is null ? null : CommonNameGlob.TryParse(pattern, out _),
            profiles ?? NamePolicy.DefaultProfiles,
            maxValidity);

    private static SubjectAltName San(string text) => SubjectAltName.TryParse(text, out var name, out var error) ? name : throw new ArgumentException(error);

    [Theory]
    [InlineData("a.example.org", ".example.org", true)]
    [InlineData("a.b.example.org", ".example.org", true)]
    [InlineData("example.org", ".example.org", false)]
    [InlineData("badexample.org", ".example.org", false)]
    [InlineData("example.org", "example.org", true)]
    [InlineData("a.example.org", "example.org", true)]
    [InlineData("badexample.org", "example.org", false)]
    [InlineData("*.team-a.example.org", ".team-a.example.org", true)]
    [InlineData("*.example.org", ".team-a.example.org", false)]
    [InlineData("*.example.org", ".example.org", true)]
    public void FitsSuffix_MatchesOnLabelBoundaries(string name, string suffix, bool fits)
    {
        Assert.Equal(fits, NamePolicy.FitsSuffix(name, suffix));
    }

    [Theory]
    [InlineData("device-*", "device-7", true)]
    [InlineData("device-*", "DEVICE-7", true)]
    [InlineData("device-*", "device-", false)]
    [InlineData("device-*", "device-7.example.org", false)]
    [InlineData("*.team-a.example.org", "web.team-a.example.org", true)]
    [InlineData("*.team-a.example.org", "a.b.team-a.example.org", false)]
    [InlineData("*.team-a.example.org", "web.team-b.example.org", false)]
    [InlineData("svc-*-*", "svc-a-b", true)]
    [InlineData("svc-*-*", "svc-ab", false)]
    [InlineData("exact", "exact", true)]
    [InlineData("exact", "exactly", false)]
    public void CommonNameGlob_StarIsOneOrMoreCharactersWithinALabel(string pattern, string commonName, bool matches)
    {
        var glob = CommonNameGlob.TryParse(pattern, out var error);

        Assert.NotNull(glob);
        Assert.Equal(matches, glob.IsMatch(commonName));
        Assert.Equal("", error);
    }

    [Fact]
    public void CommonNameGlob_LongHostileName_MatchesQuickly()
    {
        var glob = CommonNameGlob.TryParse("*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-!", out _)!;
        var started = System.Diagnostics.Stopwatch.StartNew();

        Assert.False(glob.IsMatch(new string('-', 64)));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void Authorize_NamesInsidePolicy_Passes()
    {
        var policy = Policy([".team-a.example.org"], ["spiffe://example.org/team-a/"], ["10.1.0.0/16"], "*.team-a.example.org");

        policy.Authorize("web.team-a.example.org",
            [San("web.team-a.example.org"), San("spiffe://example.org/team-a/web"), San("10.1.2.3"), San("ops@mail.team-a.example.org")],
            "client", maxValidity: null);
    }

    [Theory]
    [InlineData("web.team-a.example.org", "badexample.org", "SAN 'badexample.org'", "dnsSuffixes")]
    [InlineData("web.team-a.example.org", "spiffe://example.org/team-b/web", "SAN 'spiffe://example.org/team-b/web'", "uriPrefixes")]
    [InlineData("web.team-a.example.org", "10.2.0.1", "SAN '10.2.0.1'", "ipNetworks")]
    [InlineData("web.team-a.example.org", "ops@example.org", "SAN 'ops@example.org'", "dnsSuffixes")]
    [InlineData("admin", "web.team-a.example.org", "CN 'admin'", "commonNamePattern")]
    public void Authorize_NameOutsidePolicy_IsRefusedNamingNameAndRule(string commonName, string san, string named, string rule)
    {
        var policy = Policy([".team-a.example.org"], ["spiffe://example.org/team-a/"], ["10.1.0.0/16"], "*.team-a.example.org");

        var refused = Assert.Throws<PolicyRefusedException>(() => policy.Authorize(commonName, [San(san)], "client", null));

        Assert.Contains(named, refused.Message, StringComparison.Ordinal);
        Assert.Contains(rule, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Authorize_WithoutPattern_CnMustFitAsAName()
    {
        var policy = Policy([".team-a.example.org"], ipNetworks: ["10.1.0.0/16"]);

        policy.Authorize("web.team-a.example.org", [], "client", null);
        policy.Authorize("10.1.0.9", [], "client", null);
        Assert.Contains("dnsSuffixes", Assert.Throws<PolicyRefusedException>(() => policy.Authorize("localhost", [], "client", null)).Message, StringComparison.Ordinal);
        Assert.Contains("commonNamePattern", Assert.Throws<PolicyRefusedException>(() => policy.Authorize("client 1", [], "client", null)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Authorize_ProfileOrValidityOutsidePolicy_IsRefused()
    {
        var policy = Policy([".example.org"], maxValidity: TimeSpan.FromDays(30));

        Assert.Contains("profile 'server'", Assert.Throws<PolicyRefusedException>(() => policy.Authorize("a.example.org", [], "server", null)).Message, StringComparison.Ordinal);
        Assert.Contains("maxValidity P31D", Assert.Throws<PolicyRefusedException>(() => policy.Authorize("a.example.org", [], "client", TimeSpan.FromDays(31))).Message, StringComparison.Ordinal);
        Policy([".example.org"], profiles: ["server"]).Authorize("a.example.org", [San("a.example.org")], "server", null);
    }

    [Theory]
    [InlineData("badexample.org", "badexample.org")]
    [InlineData(".Bücher.example", ".xn--bcher-kva.example")]
    public void TryDnsSuffix_GivesStoredForm(string text, string stored)
    {
        Assert.Equal(stored, NamePolicy.TryDnsSuffix(text, out _));
    }

    [Theory]
    [InlineData("bad example.org")]
    [InlineData("*.example.org")]
    [InlineData("..example.org")]
    [InlineData("")]
    public void TryDnsSuffix_Invalid_IsRefused(string text)
    {
        Assert.Null(NamePolicy.TryDnsSuffix(text, out var error));
        Assert.NotEmpty(error);
    }

    [Theory]
    [InlineData("spiffe://example.org/team-a", "end in '/'")]
    [InlineData("team-a/", "not an absolute URI")]
    public void TryUriPrefix_Invalid_IsRefused(string text, string expected)
    {
        Assert.Null(NamePolicy.TryUriPrefix(text, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.1.0.1/16", "write '10.1.0.0/16'")]
    [InlineData("10.1.0.0", "not a CIDR")]
    [InlineData("10.1.0.0/33", "not a CIDR")]
    public void TryIpNetwork_Invalid_IsRefused(string text, string expected)
    {
        Assert.Null(NamePolicy.TryIpNetwork(text, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }
}
