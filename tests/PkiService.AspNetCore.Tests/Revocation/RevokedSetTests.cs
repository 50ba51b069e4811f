using PkiService.Api.Tests.Support;
using PkiService.AspNetCore.Revocation;

namespace PkiService.AspNetCore.Tests.Revocation;

public sealed class RevokedSetTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static VerifiedCrl Complete(long number, DateTimeOffset thisUpdate, params string[] serials) =>
        new(number, null, thisUpdate, thisUpdate.AddDays(1), [.. serials.Select(s => (s, thisUpdate.AddHours(-1)))]);

    [Fact]
    public void Status_NoCrlYet_IsUnknown() =>
        Assert.Equal(RevocationStatus.Unknown, new RevokedSet(new AdjustableTimeProvider(Now), 100).Status("01"));

    [Fact]
    public void Status_FreshCrl_RevokedOrGood()
    {
        var set = new RevokedSet(new AdjustableTimeProvider(Now), 100);
        set.ReplaceComplete(Complete(1, Now, "0A"));

        Assert.Equal(RevocationStatus.Revoked, set.Status("0A"));
        Assert.Equal(RevocationStatus.Good, set.Status("0B"));
    }

    [Fact]
    public void Status_PastNextUpdate_UnknownUnlessTheStreamIsLive()
    {
        var time = new AdjustableTimeProvider(Now);
        var set = new RevokedSet(time, 100);
        set.ReplaceComplete(Complete(1, Now, "0A"));
        time.Advance(TimeSpan.FromDays(1));

        Assert.Equal(RevocationStatus.Unknown, set.Status("0B"));
        Assert.Equal(RevocationStatus.Revoked, set.Status("0A"));
        set.StreamLive = true;
        Assert.Equal(RevocationStatus.Good, set.Status("0B"));
    }

    [Fact]
    public void ReplaceComplete_KeepsRecentAdditionsTheNewCrlMayMissAndDropsOlderOnes()
    {
        var set = new RevokedSet(new AdjustableTimeProvider(Now), 100);
        set.ReplaceComplete(Complete(1, Now.AddHours(-2)));
        set.Add("01", Now.AddHours(-1));            // before CRL 2's thisUpdate - 1 min: CRL 2 lists it if still relevant
        set.Add("02", Now.AddSeconds(-30));         // within the margin: CRL 2 may not list it yet

        set.ReplaceComplete(Complete(2, Now, "03"));

        Assert.Equal(RevocationStatus.Good, set.Status("01"));
        Assert.Equal(RevocationStatus.Revoked, set.Status("02"));
        Assert.Equal(RevocationStatus.Revoked, set.Status("03"));
    }

    [Fact]
    public void ReplaceComplete_OlderOrSameNumber_Ignored()
    {
        var set = new RevokedSet(new AdjustableTimeProvider(Now), 100);
        set.ReplaceComplete(Complete(5, Now, "05"));

        Assert.False(set.ReplaceComplete(Complete(4, Now, "04")));
        Assert.Equal(RevocationStatus.Good, set.Status("04"));
        Assert.Equal(5, set.Complete!.Number);
    }

    [Fact]
    public void ApplyDelta_BaseAtOrBelowTheCompleteCrl_AddsItsEntries()
    {
        var set = new RevokedSet(new AdjustableTimeProvider(Now), 100);
        set.ReplaceComplete(Complete(5, Now));

        Assert.False(set.ApplyDelta(new VerifiedCrl(7, 6, Now, Now.AddDays(1), [("06", Now)])));
        Assert.True(set.ApplyDelta(new VerifiedCrl(6, 5, Now, Now.AddDays(1), [("07", Now)])));

        Assert.Equal(RevocationStatus.Good, set.Status("06"));
        Assert.Equal(RevocationStatus.Revoked, set.Status("07"));
    }

    [Fact]
    public void Add_OverTheBound_EveryUnlistedStatusUnknown()
    {
        var set = new RevokedSet(new AdjustableTimeProvider(Now), 2);
        set.ReplaceComplete(Complete(1, Now, "01", "02"));

        set.Add("03", Now);

        Assert.True(set.Overflow);
        Assert.Equal(2, set.Count);
        Assert.Equal(RevocationStatus.Revoked, set.Status("01"));
        Assert.Equal(RevocationStatus.Unknown, set.Status("04"));
    }
}
