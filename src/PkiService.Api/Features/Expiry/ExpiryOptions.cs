using PkiService.Core.Primitives;

namespace PkiService.Api.Features.Expiry;

/// <summary>The <c>Expiry</c> configuration section (ISO 8601 durations).</summary>
public sealed class ExpiryOptions
{
    public const string Section = "Expiry";

    public static readonly string[] DefaultWarnBefore = ["P30D", "P7D", "P1D"];

    /// <summary>How often active certificates are scanned.</summary>
    public string ScanInterval { get; set; } = "PT1H";

    /// <summary>Thresholds before notAfter at which one warning per channel is sent. Unset: P30D, P7D, P1D.</summary>
    public string[]? WarnBefore { get; set; }

    /// <summary>Delivery attempts before a warning is marked failed.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Wait before the second attempt; doubled after each further failure.</summary>
    public string RetryBase { get; set; } = "PT30S";

    /// <summary>How long a claimed delivery is reserved before another scanner may try it (covers a crash mid-delivery).</summary>
    public string DeliveryLease { get; set; } = "PT2M";

    public TimeSpan ScanIntervalDuration => IsoDuration.ParseSetting(ScanInterval, "Expiry:ScanInterval");

    public TimeSpan RetryBaseDuration => IsoDuration.ParseSetting(RetryBase, "Expiry:RetryBase");

    public TimeSpan DeliveryLeaseDuration => IsoDuration.ParseSetting(DeliveryLease, "Expiry:DeliveryLease");

    /// <summary>The thresholds, nearest first, each with its configured text.</summary>
    public IReadOnlyList<(string Text, TimeSpan Before)> Thresholds =>
        (WarnBefore is { Length: > 0 } configured ? configured : DefaultWarnBefore)
            .Select(text => (text, IsoDuration.ParseSetting(text, "Expiry:WarnBefore")))
            .DistinctBy(t => t.Item2)
            .OrderBy(t => t.Item2)
            .ToList();
}

/// <summary>The <c>Notifications</c> configuration section: each channel is optional.</summary>
public sealed class NotificationOptions
{
    public const string Section = "Notifications";

    public WebhookOptions Webhook { get; set; } = new();

    public SmtpOptions Smtp { get; set; } = new();

    public sealed class WebhookOptions
    {
        /// <summary>A <see cref="Secret"/> shorter than this (UTF-8 bytes) stops the start when <see cref="Url"/> is set.</summary>
        public const int MinimumSecretBytes = 32;

        /// <summary>Where to POST <c>certificate.expiring</c> events (absolute http or https); unset disables the channel. Redirects are not followed.</summary>
        public string? Url { get; set; }

        /// <summary>HMAC-SHA256 key for the <c>X-Pki-Signature</c> header; required, at least <see cref="MinimumSecretBytes"/> bytes, when <see cref="Url"/> is set.</summary>
        public string? Secret { get; set; }
    }

    public sealed class SmtpOptions
    {
        /// <summary>SMTP server; unset disables the channel.</summary>
        public string? Host { get; set; }

        public int Port { get; set; } = 587;

        public string From { get; set; } = "pkiservice@localhost";

        public string? UserName { get; set; }

        public string? Password { get; set; }

        /// <summary>STARTTLS (or implicit TLS on port 465) required when true.</summary>
        public bool UseTls { get; set; } = true;
    }
}
