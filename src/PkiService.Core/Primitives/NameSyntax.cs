using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace PkiService.Core.Primitives;

/// <summary>
/// The one place that decides whether a name may go into a certificate, and in which form: the subject CN and each
/// subject alternative name (RFC 5280 4.2.1.6). Every check returns a message that names the value and the fix.
/// </summary>
/// <remarks>
/// The checks do not lean on ICU: the service runs with invariant globalization, where <see cref="IdnMapping"/>
/// only encodes punycode and maps nothing, so the character rules for U-labels are applied here first.
/// </remarks>
public static partial class NameSyntax
{
    /// <summary>RFC 1035 2.3.4: a label is at most 63 octets.</summary>
    public const int MaxLabelLength = 63;

    /// <summary>RFC 1035 2.3.4: a name is at most 255 octets on the wire, which leaves 253 characters in text form.</summary>
    public const int MaxDnsNameLength = 253;

    /// <summary>RFC 5280 Appendix A, ub-common-name.</summary>
    public const int MaxCommonNameLength = 64;

    private static readonly IdnMapping Idn = new() { AllowUnassigned = false, UseStd3AsciiRules = true };

    /// <summary>RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ':'.</summary>
    [GeneratedRegex("^[A-Za-z][A-Za-z0-9+.-]*:", RegexOptions.CultureInvariant)]
    private static partial Regex UriScheme();

    /// <summary>RFC 3986 2: the characters a URI may contain (unreserved, reserved and '%' for percent-encoding).</summary>
    private static bool IsUriCharacter(char c) => char.IsAsciiLetterOrDigit(c) || "-._~:/?#[]@!$&'()*+,;=%".Contains(c);

    /// <summary>Four decimal octets, the only IPv4 text form accepted (no octal, hex or shortened forms).</summary>
    [GeneratedRegex(@"^[0-9]{1,3}(\.[0-9]{1,3}){3}$", RegexOptions.CultureInvariant)]
    private static partial Regex DottedQuad();

    /// <summary>
    /// The kind a SAN string is, by the API contract: an IP address when it parses as one (IPv6, or four dotted
    /// parts), a URI when it starts with an RFC 3986 scheme (<c>spiffe://</c>, <c>urn:</c>, <c>https://</c>), an
    /// e-mail address (rfc822Name) when it has '@', else a DNS name. IP comes first because <c>fe80::1</c> would
    /// otherwise read as scheme <c>fe80</c>.
    /// </summary>
    public static SubjectAltNameKind KindOf(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (LooksLikeIpAddress(text))
        {
            return SubjectAltNameKind.IpAddress;
        }
        if (UriScheme().IsMatch(text))
        {
            return SubjectAltNameKind.Uri;
        }
        return text.Contains('@') ? SubjectAltNameKind.Email : SubjectAltNameKind.Dns;
    }

    private static bool LooksLikeIpAddress(string text) =>
        (text.Contains(':') && IPAddress.TryParse(text, out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6)
        || (text.Count(c => c == '.') == 3 && text.All(c => c == '.' || char.IsAsciiDigit(c)));

    /// <summary>
    /// Checks a SAN string and returns it in the form it is stored and issued in: DNS names (and e-mail domains) in
    /// lower-case A-labels, IP addresses in canonical text, URIs as given. Returns false with a message naming the
    /// value and the fix when it cannot go into a certificate.
    /// </summary>
    public static bool TryParseSubjectAltName(string? text, out SubjectAltName name, out string error)
    {
        name = null!;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "A SAN may not be empty; give a DNS name, IP address, URI or e-mail address.";
            return false;
        }
        text = text.Trim();
        if (FindForbiddenCharacter(text) is { } forbidden)
        {
            error = $"SAN '{text}' contains {forbidden}; remove it.";
            return false;
        }
        var kind = KindOf(text);
        string? value = kind switch
        {
            SubjectAltNameKind.IpAddress => TryIpAddress(text, out error),
            SubjectAltNameKind.Uri => TryUri(text, out error),
            SubjectAltNameKind.Email => TryEmail(text, out error),
            _ => TryDnsName(text, allowWildcard: true, out error),
        };
        if (value is null)
        {
            return false;
        }
        name = new SubjectAltName(kind, value);
        return true;
    }

    /// <summary>
    /// Checks a subject CN: 1 to 64 characters, no control or Unicode format characters (a U+202E right-to-left
    /// override or a U+200B zero-width space can make one name display as another). Returns null when it is fine.
    /// </summary>
    public static string? CheckCommonName(string? commonName)
    {
        if (string.IsNullOrWhiteSpace(commonName))
        {
            return "commonName is required, for example \"client-1\".";
        }
        if (commonName.Length > MaxCommonNameLength)
        {
            return $"commonName is at most {MaxCommonNameLength} characters (RFC 5280 ub-common-name).";
        }
        return FindForbiddenCharacter(commonName) is { } forbidden
            ? $"commonName '{commonName}' contains {forbidden}; remove it."
            : null;
    }

    /// <summary>
    /// Checks a DNS name and returns it in lower-case A-labels (RFC 5890): LDH labels of 1 to 63 octets that neither
    /// start nor end with a hyphen, at most 253 characters in all; U-labels are converted with <see cref="IdnMapping"/>
    /// (<c>bücher.example</c> becomes <c>xn--bcher-kva.example</c>). A wildcard, when allowed, is only the whole
    /// leftmost label of a name with at least two more labels (<c>*.example.org</c>; RFC 6125 6.4.3). Returns null and
    /// an error naming the name and the fix otherwise.
    /// </summary>
    public static string? TryDnsName(string text, bool allowWildcard, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (FindForbiddenCharacter(text) is { } forbidden)
        {
            error = $"DNS name '{text}' contains {forbidden}; remove it.";
            return null;
        }
        var name = text.ToLowerInvariant();
        var wildcard = false;
        if (name.StartsWith("*.", StringComparison.Ordinal))
        {
            if (!allowWildcard)
            {
                error = $"'{text}' is a wildcard; a wildcard is not allowed here, give a DNS name such as example.org.";
                return null;
            }
            wildcard = true;
            name = name[2..];
        }
        if (name.Contains('*'))
        {
            error = $"DNS name '{text}' has a '*' that is not the whole leftmost label; a wildcard is written *.example.org, never bare '*'.";
            return null;
        }
        if (name.EndsWith('.'))
        {
            error = $"DNS name '{text}' ends with a dot; certificates carry names without the root dot, write '{text.TrimEnd('.')}'.";
            return null;
        }
        var labels = name.Split('.');
        if (wildcard && labels.Length < 2)
        {
            error = $"Wildcard '{text}' covers a top-level domain; a wildcard needs at least two labels after '*.', such as *.example.org.";
            return null;
        }
        var aLabels = new string[labels.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            if (TryLabel(labels[i], text, out error) is not { } aLabel)
            {
                return null;
            }
            aLabels[i] = aLabel;
        }
        if (aLabels[^1].All(char.IsAsciiDigit))
        {
            error = $"DNS name '{text}' ends in an all-numeric label, which reads as an IP address; write an IP address as four decimal octets, or use a real domain.";
            return null;
        }
        var result = (wildcard ? "*." : "") + string.Join('.', aLabels);
        if (result.Length > MaxDnsNameLength)
        {
            error = $"DNS name '{text}' is {result.Length} characters as A-labels; a DNS name is at most {MaxDnsNameLength}.";
            return null;
        }
        error = "";
        return result;
    }

    /// <summary>One label to its A-label form, or null with an error.</summary>
    private static string? TryLabel(string label, string name, out string error)
    {
        error = "";
        if (label.Length == 0)
        {
            error = $"DNS name '{name}' has an empty label (two dots in a row, or a leading dot); remove it.";
            return null;
        }
        string aLabel;
        if (label.All(char.IsAscii))
        {
            aLabel = label;
        }
        else
        {
            if (CheckULabel(label) is { } bad)
            {
                error = $"DNS name '{name}' has label '{label}' with {bad}; use letters, digits and hyphens (an IDN in its A-label form, xn--..., works too).";
                return null;
            }
            try
            {
                aLabel = Idn.GetAscii(label);
            }
            catch (ArgumentException)
            {
                // ICU (when globalization is not invariant) also refuses here a label that would exceed 63 octets.
                error = $"DNS name '{name}' has label '{label}' that cannot be converted to an A-label (a valid IDN label of at most {MaxLabelLength} octets as xn--...); shorten it or give its A-label form.";
                return null;
            }
        }
        if (aLabel.Length > MaxLabelLength)
        {
            error = $"DNS name '{name}' has label '{label}' of {aLabel.Length} octets; a label is at most {MaxLabelLength}.";
            return null;
        }
        if (!aLabel.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
        {
            var bad = aLabel.First(c => !(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'));
            error = $"DNS name '{name}' contains '{bad}'; a DNS name has only letters, digits, hyphens and dots between labels (RFC 1035 2.3.1).";
            return null;
        }
        if (aLabel[0] == '-' || aLabel[^1] == '-')
        {
            error = $"DNS name '{name}' has label '{label}' that starts or ends with a hyphen; RFC 1035 2.3.1 does not allow that.";
            return null;
        }
        if (aLabel.StartsWith("xn--", StringComparison.Ordinal))
        {
            // RFC 5891 5.4: an A-label must decode to a valid U-label (and encode back to itself).
            string uLabel;
            try
            {
                uLabel = Idn.GetUnicode(aLabel);
            }
            catch (ArgumentException)
            {
                error = $"DNS name '{name}' has label '{aLabel}' that is not valid punycode; check the A-label.";
                return null;
            }
            var bad = CheckULabel(uLabel);
            if (bad is not null || !string.Equals(Idn.GetAscii(uLabel), aLabel, StringComparison.Ordinal))
            {
                error = $"DNS name '{name}' has A-label '{aLabel}' that decodes to a label that is not valid{(bad is null ? "" : $" ({bad})")}; check the A-label.";
                return null;
            }
        }
        return aLabel;
    }

    /// <summary>
    /// The IDNA character rules applied by hand (invariant globalization has no IDNA tables): after lower-casing, a
    /// U-label holds only lower-case or case-less letters, combining marks (not first, RFC 5891 4.2.3.2), decimal
    /// digits and hyphens, and no compatibility forms (full-width, presentation forms, mathematical letters), which
    /// IDNA2008 disallows because they look like other letters. Returns what is wrong, or null.
    /// </summary>
    private static string? CheckULabel(string label)
    {
        var first = true;
        foreach (var rune in label.EnumerateRunes())
        {
            var value = rune.Value;
            var category = Rune.GetUnicodeCategory(rune);
            var allowed = category switch
            {
                UnicodeCategory.LowercaseLetter or UnicodeCategory.OtherLetter or UnicodeCategory.ModifierLetter => true,
                UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark => !first,
                UnicodeCategory.DecimalDigitNumber => true,
                _ => value == '-',
            };
            var compatibilityForm = value is (>= 0xFB00 and <= 0xFDFF) or (>= 0xFE70 and <= 0xFEFF) or (>= 0xFF00 and <= 0xFFEF) or (>= 0x1D400 and <= 0x1D7FF);
            if (!allowed || compatibilityForm)
            {
                return $"character U+{value:X4} ({category})";
            }
            first = false;
        }
        return null;
    }

    private static string? TryIpAddress(string text, out string error)
    {
        error = "";
        if (!IPAddress.TryParse(text, out var address))
        {
            error = $"'{text}' is not an IP address; write IPv4 as four decimal octets (10.0.0.7) or IPv6 (2001:db8::7).";
            return null;
        }
        if (address.AddressFamily == AddressFamily.InterNetwork && (!DottedQuad().IsMatch(text) || address.ToString() != text))
        {
            // IPAddress.TryParse also reads octal (010.0.0.1 is 8.0.0.1), hex and shortened forms; only one reading is safe.
            error = $"'{text}' is not an IPv4 address in dotted-decimal form; write four decimal octets without leading zeros, such as {address}.";
            return null;
        }
        if (text.Contains('%') || (address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0))
        {
            error = $"IP address '{text}' has a zone index; a certificate carries the address alone (RFC 5280 4.2.1.6), drop the '%...'.";
            return null;
        }
        return address.ToString();
    }

    private static string? TryUri(string text, out string error)
    {
        error = "";
        // RFC 5280 4.2.1.6: a uniformResourceIdentifier is an IA5String; RFC 5280 7.4: an IRI is mapped to a URI first.
        if (!text.All(IsUriCharacter))
        {
            var bad = text.First(c => !IsUriCharacter(c));
            error = $"URI '{text}' contains '{bad}' (U+{(int)bad:X4}), which a URI cannot hold; percent-encode it (RFC 3986 2.1), and write hosts in A-labels.";
            return null;
        }
        if (!Uri.TryCreate(text, UriKind.Absolute, out _))
        {
            error = $"'{text}' is not an absolute URI; give scheme and the rest, such as spiffe://example.org/service or urn:uuid:....";
            return null;
        }
        // RFC 3986 5.2.4: dot segments are removed when the URI is resolved, so spiffe://x/team-a/../team-b would name
        // team-b to whoever normalizes it while looking like team-a to a prefix check. None is accepted.
        var path = text.Split(['?', '#'], 2)[0];
        if (path.Split('/').Any(s => s is "." or ".." || Uri.UnescapeDataString(s) is "." or ".."))
        {
            error = $"URI '{text}' has a '.' or '..' path segment; give the path without dot segments.";
            return null;
        }
        return text;
    }

    private static string? TryEmail(string text, out string error)
    {
        error = "";
        var at = text.LastIndexOf('@');
        var local = text[..at];
        var domain = text[(at + 1)..];
        if (local.Length is 0 or > 64 || local.Contains('@')
            || !local.All(c => c is > ' ' and < (char)0x7F && !"\"(),:;<>[\\]".Contains(c)) || local.StartsWith('.') || local.EndsWith('.') || local.Contains(".."))
        {
            // RFC 5280 4.2.1.6: rfc822Name is an IA5String Mailbox; a non-ASCII local part would need SmtpUTF8Mailbox (RFC 8398).
            error = $"'{text}' is not an e-mail address this service issues; the part before '@' is 1 to 64 ASCII characters of an RFC 5321 dot-atom.";
            return null;
        }
        if (TryDnsName(domain, allowWildcard: false, out var domainError) is not { } aDomain)
        {
            error = $"E-mail address '{text}': {domainError}";
            return null;
        }
        // RFC 5280 7.5: the domain part of an rfc822Name is stored in A-labels.
        return local + "@" + aDomain;
    }

    /// <summary>
    /// The first character that must never be in a name, described for an error message: control characters, Unicode
    /// format characters (U+202E right-to-left override, U+200B zero-width space, U+FEFF), line and paragraph
    /// separators, and unpaired surrogates. Null when there is none.
    /// </summary>
    public static string? FindForbiddenCharacter(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        for (var i = 0; i < text.Length; i++)
        {
            if (Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                return $"an unpaired surrogate at position {i}";
            }
            var category = Rune.GetUnicodeCategory(rune);
            switch (category)
            {
                case UnicodeCategory.Control:
                    return $"control character U+{rune.Value:X4}";
                case UnicodeCategory.Format:
                    return $"U+{rune.Value:X4}, a Unicode format character (bidi controls and zero-width characters can make one name display as another)";
                case UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator:
                    return $"line separator U+{rune.Value:X4}";
            }
            i += consumed - 1;
        }
        return null;
    }
}
