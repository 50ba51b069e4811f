using System.Security.Claims;
using PkiService.AspNetCore.Authorization;
using PkiService.AspNetCore.Identity;

namespace PkiService.AspNetCore.Tests.Authorization;

public sealed class PkiPolicyMatcherTests
{
    private static readonly Claim[] Alice =
    [
        new(PkiClaimTypes.CommonName, "alice"),
        new(PkiClaimTypes.Uri, "spiffe://example.org/admin/alice"),
        new(PkiClaimTypes.SpiffeId, "spiffe://example.org/admin/alice"),
        new(PkiClaimTypes.Uri, "https://apps.example.org/billing/worker"),
        new(PkiClaimTypes.Dns, "alice.eu.example.org"),
        new(PkiClaimTypes.Profile, "client"),
    ];

    [Theory]
    [InlineData("spiffe://example.org/admin/", true)]
    [InlineData("spiffe://example.org/admin", true)]
    [InlineData("spiffe://example.org/admin/alice", true)]
    [InlineData("spiffe://example.org/adm", false)]
    [InlineData("spiffe://example.org/ops/", false)]
    [InlineData("spiffe://other.org/admin/", false)]
    [InlineData("SPIFFE://example.org/admin/", false)]
    public void SpiffePrefix_MatchesOnlyAtAPathBoundary(string prefix, bool expected) =>
        Assert.Equal(expected, PkiPolicyMatcher.Matches(new PkiAuthorizationRule { SpiffePrefix = [prefix] }, Alice));

    [Fact]
    public void SpiffePrefix_PrefixOfALongerSegment_DoesNotMatch()
    {
        Claim[] administrator = [new(PkiClaimTypes.SpiffeId, "spiffe://example.org/administrator")];

        Assert.False(PkiPolicyMatcher.Matches(new PkiAuthorizationRule { SpiffePrefix = ["spiffe://example.org/admin"] }, administrator));
    }

    [Fact]
    public void UriPrefix_MatchesAnyUriSan() =>
        Assert.True(PkiPolicyMatcher.Matches(new PkiAuthorizationRule { UriPrefix = ["https://apps.example.org/billing"] }, Alice));

    [Theory]
    [InlineData("alice", true)]
    [InlineData("Alice", false)]
    [InlineData("bob", false)]
    public void CommonName_IsExact(string cn, bool expected) =>
        Assert.Equal(expected, PkiPolicyMatcher.Matches(new PkiAuthorizationRule { CommonName = [cn] }, Alice));

    [Theory]
    [InlineData("alice.eu.example.org", true)]
    [InlineData("ALICE.EU.example.org", true)]
    [InlineData("*.eu.example.org", true)]
    [InlineData("*.example.org", false)]
    [InlineData("*.alice.eu.example.org", false)]
    [InlineData("bob.eu.example.org", false)]
    public void DnsPattern_WildcardIsExactlyOneLabel(string pattern, bool expected) =>
        Assert.Equal(expected, PkiPolicyMatcher.Matches(new PkiAuthorizationRule { DnsPattern = [pattern] }, Alice));

    [Fact]
    public void Profile_RestrictsAMatchingIdentity()
    {
        Assert.True(PkiPolicyMatcher.Matches(new PkiAuthorizationRule { CommonName = ["alice"], Profile = ["client"] }, Alice));
        Assert.False(PkiPolicyMatcher.Matches(new PkiAuthorizationRule { CommonName = ["alice"], Profile = ["server"] }, Alice));
    }

    [Fact]
    public void Profile_Alone_AdmitsEveryIdentityOfIt() =>
        Assert.True(PkiPolicyMatcher.Matches(new PkiAuthorizationRule { Profile = ["client"] }, Alice));

    [Fact]
    public void EmptyRule_AdmitsNobody() =>
        Assert.False(PkiPolicyMatcher.Matches(new PkiAuthorizationRule(), Alice));

    [Fact]
    public void AnyListedIdentity_Suffices() =>
        Assert.True(PkiPolicyMatcher.Matches(new PkiAuthorizationRule { CommonName = ["bob"], DnsPattern = ["*.eu.example.org"] }, Alice));
}
