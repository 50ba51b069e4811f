using PkiService.Core.Errors;
using PkiService.Core.Primitives;

namespace PkiService.Core.Tests.Primitives;

public sealed class SerialNumberTests
{
    [Fact]
    public void NewRandom_Always16PositiveOctetsInUppercaseHex()
    {
        var serials = Enumerable.Range(0, 2000).Select(_ => SerialNumber.NewRandom()).ToList();

        Assert.All(serials, s => Assert.Matches("^(?!00)[0-7][0-9A-F]{31}$", s.Hex));
        Assert.Equal(serials.Count, serials.Select(s => s.Hex).Distinct().Count());
    }

    [Theory]
    [InlineData("27a2e603245666409c59d6b1606bbdd0", "27A2E603245666409C59D6B1606BBDD0")]
    [InlineData("27:A2:E6:03", "27A2E603")]
    [InlineData(" 00FF ", "FF")]
    [InlineData("1", "01")]
    public void TryParse_HumanForms_GiveCanonicalHex(string text, string expected)
    {
        Assert.True(SerialNumber.TryParse(text, out var serial));
        Assert.Equal(expected, serial.Hex);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ZZ")]
    [InlineData("0")]
    [InlineData("00:00")]
    [InlineData("-1")]
    [InlineData("0102030405060708090A0B0C0D0E0F101112131415")] // 21 octets: RFC 5280 allows 20
    public void TryParse_NotASerial_ReturnsFalse(string text)
    {
        Assert.False(SerialNumber.TryParse(text, out _));
    }

    [Fact]
    public void Parse_NotASerial_SaysHowToWriteOne()
    {
        var error = Assert.Throws<InvalidRequestException>(() => SerialNumber.Parse("ZZ"));

        Assert.Equal("'ZZ' is not a serial number; use hexadecimal digits (for example 3A9F01...).", error.Message);
    }

    [Fact]
    public void BouncyCastleRoundTrip_KeepsValue()
    {
        var serial = SerialNumber.NewRandom();

        Assert.Equal(serial, SerialNumber.FromBouncyCastle(serial.ToBouncyCastle()));
    }
}
