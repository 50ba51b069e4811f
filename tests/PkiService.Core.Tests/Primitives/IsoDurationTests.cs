using PkiService.Core.Primitives;

namespace PkiService.Core.Tests.Primitives;

public sealed class IsoDurationTests
{
    [Theory]
    [InlineData("P90D", 90 * 24 * 60)]
    [InlineData("PT1H", 60)]
    [InlineData("PT5M", 5)]
    [InlineData("P1DT12H", 36 * 60)]
    public void TryParse_DayAndTimeDurations_Parse(string text, int minutes)
    {
        Assert.True(IsoDuration.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.FromMinutes(minutes), duration);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("90")]
    [InlineData("P1Y")]
    [InlineData("P2M")]
    [InlineData("PT0S")]
    [InlineData("-P1D")]
    [InlineData("P99999999999999D")]
    public void TryParse_AmbiguousOrNotPositive_ReturnsFalse(string? text)
    {
        Assert.False(IsoDuration.TryParse(text, out _));
    }

    [Fact]
    public void ParseSetting_BadValue_NamesTheSetting()
    {
        var error = Assert.Throws<InvalidOperationException>(() => IsoDuration.ParseSetting("1 day", "Crl:Validity"));

        Assert.StartsWith("Crl:Validity = '1 day' is not an ISO 8601 duration", error.Message, StringComparison.Ordinal);
    }
}
