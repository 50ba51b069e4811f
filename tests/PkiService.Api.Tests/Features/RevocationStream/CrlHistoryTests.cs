using PkiService.Api.Features.Crl;
using PkiService.Api.Features.RevocationStream;
using PkiService.Core.Revocation;

namespace PkiService.Api.Tests.Features.RevocationStream;

/// <summary>Which thisUpdate a resume from CRL number N is measured against (the stored DER plays no part here).</summary>
public sealed class CrlHistoryTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ThisUpdateAtOrBefore_RecordedNumber_IsItsThisUpdate()
    {
        var history = new CrlHistory();
        history.Record(Crl(3, Start));
        history.Record(Crl(5, Start.AddMinutes(10)));

        Assert.Equal(Start, history.ThisUpdateAtOrBefore(3));
        Assert.Equal(Start.AddMinutes(10), history.ThisUpdateAtOrBefore(5));
    }

    [Fact]
    public void ThisUpdateAtOrBefore_NumberBetweenRecorded_IsTheOlderOnesThisUpdate()
    {
        var history = new CrlHistory();
        history.Record(Crl(3, Start));
        history.Record(Crl(9, Start.AddMinutes(30)));
        history.Record(Crl(5, Start.AddMinutes(10))); // recorded out of order

        Assert.Equal(Start, history.ThisUpdateAtOrBefore(4)); // a delta's number, or a CRL this node never saw
        Assert.Equal(Start.AddMinutes(10), history.ThisUpdateAtOrBefore(8));
    }

    [Theory]
    [InlineData(2)] // older than anything remembered
    [InlineData(10)] // newer than anything served
    [InlineData(0)]
    public void ThisUpdateAtOrBefore_NumberOutsideWhatWasServed_IsUnknown(long number)
    {
        var history = new CrlHistory();
        history.Record(Crl(3, Start));
        history.Record(Crl(9, Start.AddMinutes(30)));

        Assert.Null(history.ThisUpdateAtOrBefore(number));
        Assert.Null(new CrlHistory().ThisUpdateAtOrBefore(3));
    }

    [Fact]
    public void Record_PastCapacity_ForgetsTheOldest()
    {
        var history = new CrlHistory();
        for (var number = 1; number <= CrlHistory.Capacity + 10; number++)
        {
            history.Record(Crl(number, Start.AddMinutes(number)));
        }

        Assert.Null(history.ThisUpdateAtOrBefore(10)); // forgotten: a resume from it replays everything
        Assert.Equal(Start.AddMinutes(11), history.ThisUpdateAtOrBefore(11));
        Assert.Equal(Start.AddMinutes(CrlHistory.Capacity + 10), history.ThisUpdateAtOrBefore(CrlHistory.Capacity + 10));
    }

    private static PublishedCrl Crl(long number, DateTimeOffset thisUpdate) =>
        new(new SignedCrl(number, thisUpdate, thisUpdate.AddDays(1), 0, [0x30, 0x00]));
}
