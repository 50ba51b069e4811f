using PkiService.Core.Primitives;

namespace PkiService.Core.Tests.Primitives;

public sealed class SubjectAltNameTests
{
    [Theory]
    [InlineData("spiffe://example.org/client-1", SubjectAltNameKind.Uri, "spiffe://example.org/client-1")]
    [InlineData("https://example.org/x", SubjectAltNameKind.Uri, "https://example.org/x")]
    [InlineData("10.0.0.7", SubjectAltNameKind.IpAddress, "10.0.0.7")]
    [InlineData("2001:db8::1", SubjectAltNameKind.IpAddress, "2001:db8::1")]
    [InlineData("ops@example.org", SubjectAltNameKind.Email, "ops@example.org")]
    [InlineData("Client-1.Example.org", SubjectAltNameKind.Dns, "client-1.example.org")]
    [InlineData("42", SubjectAltNameKind.Dns, "42")]
    public void Classify_FollowsApiContract(string text, SubjectAltNameKind kind, string value)
    {
        Assert.Equal(new SubjectAltName(kind, value), SubjectAltName.Classify(text));
    }

    [Theory]
    [InlineData("spiffe://example.org/a")]
    [InlineData("10.0.0.7")]
    [InlineData("ops@example.org")]
    [InlineData("a.example.org")]
    public void GeneralNameRoundTrip_KeepsNameAndKind(string text)
    {
        var name = SubjectAltName.Classify(text);

        Assert.Equal(name, SubjectAltName.FromGeneralName(name.ToGeneralName()));
    }
}
