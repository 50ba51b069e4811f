using PkiService.Core.Primitives;

namespace PkiService.Core.Tests.Primitives;

public sealed class NameSyntaxTests
{
    [Theory]
    [InlineData("bücher.example", SubjectAltNameKind.Dns, "xn--bcher-kva.example")]
    [InlineData("BÜCHER.Example", SubjectAltNameKind.Dns, "xn--bcher-kva.example")]
    [InlineData("xn--bcher-kva.example", SubjectAltNameKind.Dns, "xn--bcher-kva.example")]
    [InlineData("Client-1.Example.org", SubjectAltNameKind.Dns, "client-1.example.org")]
    [InlineData("*.example.org", SubjectAltNameKind.Dns, "*.example.org")]
    [InlineData("localhost", SubjectAltNameKind.Dns, "localhost")]
    [InlineData("urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6", SubjectAltNameKind.Uri, "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6")]
    [InlineData("spiffe://example.org/team-a/web", SubjectAltNameKind.Uri, "spiffe://example.org/team-a/web")]
    [InlineData("https://example.org/x?y=1", SubjectAltNameKind.Uri, "https://example.org/x?y=1")]
    [InlineData("10.0.0.7", SubjectAltNameKind.IpAddress, "10.0.0.7")]
    [InlineData("fe80::1", SubjectAltNameKind.IpAddress, "fe80::1")]
    [InlineData("2001:DB8::1", SubjectAltNameKind.IpAddress, "2001:db8::1")]
    [InlineData("ops@bücher.example", SubjectAltNameKind.Email, "ops@xn--bcher-kva.example")]
    public void TryParse_ValidName_GivesStoredForm(string text, SubjectAltNameKind kind, string value)
    {
        Assert.True(SubjectAltName.TryParse(text, out var name, out var error), error);
        Assert.Equal(new SubjectAltName(kind, value), name);
    }

    [Theory]
    [InlineData("a b.example", "' '")]
    [InlineData("a/b.example", "'/'")]
    [InlineData("a_b.example", "'_'")]
    [InlineData("-a.example", "hyphen")]
    [InlineData("a-.example", "hyphen")]
    [InlineData("a..example", "empty label")]
    [InlineData("example.org.", "dot")]
    [InlineData("*", "bare '*'")]
    [InlineData("*.org", "two labels")]
    [InlineData("a.*.example.org", "leftmost")]
    [InlineData("a*.example.org", "leftmost")]
    [InlineData("1.2.3", "all-numeric")]
    [InlineData("b\u202Eexample.org", "U+202E")]
    [InlineData("a\u200Bb.example", "U+200B")]
    [InlineData("\uFF21.example", "U+FF41")]
    [InlineData("xn--zz.example", "punycode")]
    [InlineData("xn--bexample-qu3d.org", "not valid")]
    [InlineData("010.0.0.1", "leading zeros")]
    [InlineData("10.0.0.256", "IPv4")]
    [InlineData("fe80::1%eth0", "zone")]
    [InlineData("spiffe://example.org/team-a/../team-b", "dot segment")]
    [InlineData("spiffe://example.org/team-a/%2e%2e/team-b", "dot segment")]
    [InlineData("https://exa mple.org/", "' '")]
    [InlineData("https://bücher.example/", "percent-encode")]
    [InlineData("a@b@example.org", "dot-atom")]
    [InlineData("ops@bad host", "' '")]
    public void TryParse_InvalidName_IsRefusedNamingTheProblem(string text, string expected)
    {
        Assert.False(SubjectAltName.TryParse(text, out _, out var error));
        Assert.Contains(expected, error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void TryParse_LabelOver63Octets_IsRefused()
    {
        var label = new string('a', 64);

        Assert.False(SubjectAltName.TryParse(label + ".example", out _, out var error));
        Assert.Contains("at most 63", error, StringComparison.Ordinal);
        Assert.True(SubjectAltName.TryParse(label[..63] + ".example", out _, out _));
    }

    [Fact]
    public void TryParse_NameOver253Characters_IsRefused()
    {
        var name = string.Join('.', Enumerable.Repeat(new string('a', 63), 4)); // 255 characters

        Assert.False(SubjectAltName.TryParse(name, out _, out var error));
        Assert.Contains("at most 253", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_IdnThatGrowsPast63OctetsAsALabel_IsRefused()
    {
        const string label = "東京都港区芝公園四丁目二番八号日本電波塔株式会社本社事務所"; // 28 characters, far more as punycode

        Assert.False(SubjectAltName.TryParse(label + ".example", out _, out var error));
        Assert.Contains("63", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6", SubjectAltNameKind.Uri)]
    [InlineData("mailto:ops@example.org", SubjectAltNameKind.Uri)]
    [InlineData("fe80::1", SubjectAltNameKind.IpAddress)]
    [InlineData("ops@example.org", SubjectAltNameKind.Email)]
    [InlineData("example.org", SubjectAltNameKind.Dns)]
    public void Classify_RecognisesUrisByScheme(string text, SubjectAltNameKind kind)
    {
        Assert.Equal(kind, SubjectAltName.Classify(text).Kind);
    }

    [Theory]
    [InlineData("client\u202E1")]
    [InlineData("client\u200B1")]
    [InlineData("client\u00001")]
    [InlineData("client\u20281")]
    public void CheckCommonName_FormatOrControlCharacter_IsRefused(string commonName)
    {
        var error = NameSyntax.CheckCommonName(commonName);

        Assert.NotNull(error);
        Assert.Contains("remove it", error, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckCommonName_UnpairedSurrogate_IsRefused()
    {
        var commonName = "client" + (char)0xD800 + "1";

        Assert.Contains("unpaired surrogate", NameSyntax.CheckCommonName(commonName), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("client-1")]
    [InlineData("Bücher Laptop 7")]
    [InlineData("web.team-a.example.org")]
    public void CheckCommonName_OrdinaryName_IsAccepted(string commonName)
    {
        Assert.Null(NameSyntax.CheckCommonName(commonName));
    }
}
