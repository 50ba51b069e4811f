using PkiService.Core.Errors;
using PkiService.Core.Revocation;

namespace PkiService.Core.Tests.Revocation;

public sealed class RevocationReasonTests
{
    [Theory]
    [InlineData("unspecified", RevocationReason.Unspecified, 0)]
    [InlineData("keyCompromise", RevocationReason.KeyCompromise, 1)]
    [InlineData("caCompromise", RevocationReason.CaCompromise, 2)]
    [InlineData("affiliationChanged", RevocationReason.AffiliationChanged, 3)]
    [InlineData("superseded", RevocationReason.Superseded, 4)]
    [InlineData("cessationOfOperation", RevocationReason.CessationOfOperation, 5)]
    [InlineData("certificateHold", RevocationReason.CertificateHold, 6)]
    [InlineData("privilegeWithdrawn", RevocationReason.PrivilegeWithdrawn, 9)]
    public void Parse_Rfc5280Name_MapsToCrlReasonCode(string name, RevocationReason expected, int code)
    {
        var reason = RevocationReasons.Parse(name);

        Assert.Equal(expected, reason);
        Assert.Equal(code, reason.ToCrlReasonCode());
        Assert.Equal(name, reason.ToName());
        Assert.True(RevocationReasons.TryFromCrlReasonCode(code, out var back));
        Assert.Equal(expected, back);
    }

    [Theory]
    [InlineData("KEYCOMPROMISE")]
    [InlineData(" keycompromise ")]
    public void Parse_OtherLetterCase_IsAccepted(string text) =>
        Assert.Equal(RevocationReason.KeyCompromise, RevocationReasons.Parse(text));

    [Theory]
    [InlineData("stolen")]
    [InlineData("1")]
    [InlineData("removeFromCRL")]
    [InlineData("")]
    [InlineData(null)]
    public void Parse_UnknownName_ThrowsInvalidRequestListingAllowedNames(string? text)
    {
        var exception = Assert.Throws<InvalidRequestException>(() => RevocationReasons.Parse(text));

        Assert.Contains($"'{text}'", exception.Message, StringComparison.Ordinal);
        foreach (var name in RevocationReasons.AllowedNames)
        {
            Assert.Contains(name, exception.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(10)]
    [InlineData(-1)]
    public void TryFromCrlReasonCode_CodeTheServiceDoesNotUse_ReturnsFalse(int code) =>
        Assert.False(RevocationReasons.TryFromCrlReasonCode(code, out _));

    [Fact]
    public void AllowedNames_AreTheEightApiNamesInCodeOrder() =>
        Assert.Equal(
            ["unspecified", "keyCompromise", "caCompromise", "affiliationChanged", "superseded", "cessationOfOperation", "certificateHold", "privilegeWithdrawn"],
            RevocationReasons.AllowedNames);
}
