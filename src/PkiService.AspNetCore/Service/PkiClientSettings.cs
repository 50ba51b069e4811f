using System.Xml;

namespace PkiService.AspNetCore.Service;

/// <summary>The <c>PkiClient</c> options, checked once: every bad value is a <see cref="PkiClientStartupException"/> naming the key.</summary>
internal sealed record PkiClientSettings(
    Uri ServiceUrl,
    byte[] RootFingerprint,
    PkiRevocationMode Revocation,
    bool FailClosed,
    TimeSpan CrlPollInterval,
    int MaxRevokedSerials,
    TimeSpan StartupTimeout,
    TimeSpan StreamIdleTimeout,
    int OcspCacheSize)
{
    public static PkiClientSettings From(PkiClientOptions options)
    {
        const string Section = PkiClientOptions.SectionName;
        if (options.ServiceUrl is not { } url)
        {
            throw new PkiClientStartupException($"{Section}:ServiceUrl is not set: give PkiService's base address, e.g. http://pki.internal:5080");
        }
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps) || url.Query.Length > 0 || url.Fragment.Length > 0)
        {
            throw new PkiClientStartupException($"{Section}:ServiceUrl '{url}' is not an absolute http(s) address without query; give PkiService's base address, e.g. http://pki.internal:5080");
        }
        // A trailing slash, so relative paths (pki/crl) land under a path prefix instead of replacing it.
        var baseUrl = url.AbsoluteUri.EndsWith('/') ? url : new Uri(url.AbsoluteUri + "/");
        return new PkiClientSettings(
            baseUrl,
            ParseFingerprint(options.RootFingerprint),
            options.Revocation,
            options.FailClosed,
            Duration(options.CrlPollInterval, "CrlPollInterval", TimeSpan.FromMilliseconds(100)),
            Positive(options.MaxRevokedSerials, "MaxRevokedSerials"),
            Duration(options.StartupTimeout, "StartupTimeout", TimeSpan.Zero),
            Duration(options.StreamIdleTimeout, "StreamIdleTimeout", TimeSpan.FromSeconds(1)),
            Positive(options.OcspCacheSize, "OcspCacheSize"));
    }

    /// <summary>SHA-256, 64 hex digits; colons, spaces and case are ignored (openssl prints <c>AB:CD:...</c>).</summary>
    public static byte[] ParseFingerprint(string? value)
    {
        const string Key = $"{PkiClientOptions.SectionName}:RootFingerprint";
        const string Fix = "set it to the SHA-256 of PkiService's root certificate, 64 hex digits (openssl x509 -in root.crt -noout -fingerprint -sha256)";
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new PkiClientStartupException($"{Key} is not set: {Fix}");
        }
        var hex = new string(value.Where(c => c != ':' && c != ' ' && c != '-').ToArray());
        if (hex.Length != 64 || !hex.All(Uri.IsHexDigit))
        {
            throw new PkiClientStartupException($"{Key} '{value}' is not a SHA-256 fingerprint: {Fix}");
        }
        return Convert.FromHexString(hex);
    }

    private static TimeSpan Duration(string? value, string key, TimeSpan minimum)
    {
        try
        {
            var duration = XmlConvert.ToTimeSpan(value ?? "");
            if (duration >= minimum)
            {
                return duration;
            }
        }
        catch (FormatException)
        {
        }
        throw new PkiClientStartupException($"{PkiClientOptions.SectionName}:{key} '{value}' is not an ISO 8601 duration of at least {minimum.TotalSeconds} s (e.g. PT5S)");
    }

    private static int Positive(int value, string key) => value > 0
        ? value
        : throw new PkiClientStartupException($"{PkiClientOptions.SectionName}:{key} must be a positive number, not {value}");
}
