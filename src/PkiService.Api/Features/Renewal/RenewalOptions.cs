using PkiService.Core.Primitives;

namespace PkiService.Api.Features.Renewal;

/// <summary>The <c>Renewal</c> configuration section (ISO 8601 durations): the mTLS listener's own certificate. What a renewal accepts is <see cref="Issuance.RenewalKeyOptions"/>.</summary>
public sealed class RenewalOptions
{
    public const string Section = "Renewal";

    /// <summary>Lifetime of the mTLS listener's server certificate (renewed when a third is left).</summary>
    public string ListenerCertificateValidity { get; set; } = "P30D";

    /// <summary>How often the listener certificate is checked for renewal.</summary>
    public string ListenerCertificateCheckInterval { get; set; } = "PT1H";

    public TimeSpan ListenerCertificateValidityDuration => IsoDuration.ParseSetting(ListenerCertificateValidity, "Renewal:ListenerCertificateValidity");

    public TimeSpan ListenerCertificateCheckIntervalDuration => IsoDuration.ParseSetting(ListenerCertificateCheckInterval, "Renewal:ListenerCertificateCheckInterval");
}
