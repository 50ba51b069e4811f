using System.Net;
using PkiService.Api.Infrastructure;

namespace PkiService.Api.Tests.Infrastructure;

/// <summary>The key every per-client limit (rate limits, failed-authentication throttle) counts under.</summary>
public sealed class ClientKeyTests
{
    [Fact]
    public void ClientKey_TwoAddressesInOneIpv6Slash64_ShareOneKey()
    {
        var first = RequestProtection.ClientKey(IPAddress.Parse("2001:db8:1:2:aaaa:bbbb:cccc:dddd"));
        var second = RequestProtection.ClientKey(IPAddress.Parse("2001:db8:1:2::1"));

        Assert.Equal("2001:db8:1:2::/64", first);
        Assert.Equal(first, second);
    }

    [Fact]
    public void ClientKey_NeighbouringIpv6Slash64s_AreKeptApart() =>
        Assert.NotEqual(
            RequestProtection.ClientKey(IPAddress.Parse("2001:db8:1:2::1")),
            RequestProtection.ClientKey(IPAddress.Parse("2001:db8:1:3::1")));

    [Theory]
    [InlineData("192.0.2.7", "192.0.2.7")]
    [InlineData("::ffff:192.0.2.7", "192.0.2.7")]
    [InlineData("127.0.0.1", "127.0.0.1")]
    [InlineData("::1", "::1")]
    public void ClientKey_Ipv4MappedAndLoopback_AreKeyedByTheAddress(string address, string expected) =>
        Assert.Equal(expected, RequestProtection.ClientKey(IPAddress.Parse(address)));

    [Fact]
    public void ClientKey_NoAddress_IsUnknown() => Assert.Equal("unknown", RequestProtection.ClientKey((IPAddress?)null));
}
