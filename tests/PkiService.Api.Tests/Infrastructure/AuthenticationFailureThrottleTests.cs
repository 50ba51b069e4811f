using Microsoft.AspNetCore.Http;
using PkiService.Api.Infrastructure;
using PkiService.Api.Tests.Support;

namespace PkiService.Api.Tests.Infrastructure;

/// <summary>The failure counts themselves: keyed by (address, credential) and by address, windows, and the table bound.</summary>
public sealed class AuthenticationFailureThrottleTests
{
    private readonly AdjustableTimeProvider _clock = new(DateTimeOffset.UtcNow);

    [Fact]
    public void RecordFailure_UpToTheLimit_BlocksThatCredentialOnlyUntilTheWindowEnds()
    {
        var throttle = new AuthenticationFailureThrottle(3, 30, _clock);
        var bad = Key("203.0.113.1", "Bearer pki_ak_bad");
        var good = Key("203.0.113.1", "Bearer pki_ak_good");
        var elsewhere = Key("203.0.113.2", "Bearer pki_ak_bad");

        for (var i = 0; i < 3; i++)
        {
            Assert.Null(throttle.BlockedFor(bad));
            throttle.RecordFailure(bad);
        }
        _clock.Advance(TimeSpan.FromSeconds(20));

        Assert.Equal(TimeSpan.FromSeconds(40), throttle.BlockedFor(bad));
        Assert.Null(throttle.BlockedFor(good));
        Assert.Null(throttle.BlockedFor(elsewhere));
        _clock.Advance(TimeSpan.FromSeconds(40));
        Assert.Null(throttle.BlockedFor(bad));
    }

    [Fact]
    public void RecordFailure_RotatingCredentials_BlocksTheWholeAddressAtTheWiderCap()
    {
        var throttle = new AuthenticationFailureThrottle(3, 10, _clock);

        for (var i = 0; i < 10; i++)
        {
            throttle.RecordFailure(Key("203.0.113.1", $"Bearer pki_ak_guess-{i}"));
        }

        Assert.NotNull(throttle.BlockedFor(Key("203.0.113.1", "Bearer pki_ak_valid")));
        Assert.Null(throttle.BlockedFor(Key("203.0.113.2", "Bearer pki_ak_valid")));
    }

    [Fact]
    public void RecordFailure_ManyCredentialsAndAddresses_TablesStayWithinTheirCapacity()
    {
        var throttle = new AuthenticationFailureThrottle(3, 30, _clock, capacity: 100);

        for (var i = 0; i < 1000; i++)
        {
            throttle.RecordFailure(Key($"198.51.100.{i % 250}", $"Bearer pki_ak_guess-{i}"));
        }
        Assert.Equal((100, 100), throttle.Rows);

        _clock.Advance(TimeSpan.FromMinutes(1));
        throttle.RecordFailure(Key("203.0.113.9", "Bearer pki_ak_late"));

        // Full: the expired windows were dropped to make room for the new key.
        Assert.Equal((1, 1), throttle.Rows);
    }

    [Fact]
    public void KeyOf_NoCredential_IsNotCounted()
    {
        Assert.Null(AuthenticationFailureThrottle.KeyOf(new DefaultHttpContext(), "203.0.113.1"));
    }

    private static ThrottleKey Key(string address, string authorization)
    {
        var http = new DefaultHttpContext();
        http.Request.Headers.Authorization = authorization;
        return AuthenticationFailureThrottle.KeyOf(http, address) ?? throw new InvalidOperationException("A credential was presented.");
    }
}
