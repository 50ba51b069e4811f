using PkiService.Core.Primitives;

namespace PkiService.Api.Features.Crl;

/// <summary>The <c>Crl</c> configuration section (ISO 8601 durations).</summary>
public sealed class CrlOptions
{
    public const string Section = "Crl";

    /// <summary>nextUpdate - thisUpdate of every CRL.</summary>
    public string Validity { get; set; } = "P1D";

    /// <summary>A CRL is re-issued this long before its nextUpdate even when nothing changed.</summary>
    public string RefreshBefore { get; set; } = "PT6H";

    /// <summary>How often the publisher checks whether a CRL is due for re-issue.</summary>
    public string CheckInterval { get; set; } = "PT1M";

    /// <summary>Upper bound of Cache-Control max-age on CRL answers (it is also never past nextUpdate).</summary>
    public string MaxAge { get; set; } = "PT5M";

    /// <summary>
    /// On a shared database (PostgreSQL): how long the CRL builder lease lasts (database clock). The holder renews it
    /// every third of it and stops building when it could not renew in time; another node takes it over once it has
    /// expired, so a node killed while holding it is replaced within about this long.
    /// </summary>
    public string LeaseDuration { get; set; } = "PT10S";

    /// <summary>
    /// On a shared database: how often a node that does not hold the lease reads the published CRL numbers (a safety
    /// net under the <c>pki_crl</c> announcement) and checks whether the lease has expired.
    /// </summary>
    public string ClusterPollInterval { get; set; } = "PT2S";

    public TimeSpan ValidityDuration => IsoDuration.ParseSetting(Validity, "Crl:Validity");

    public TimeSpan RefreshBeforeDuration => IsoDuration.ParseSetting(RefreshBefore, "Crl:RefreshBefore");

    public TimeSpan CheckIntervalDuration => IsoDuration.ParseSetting(CheckInterval, "Crl:CheckInterval");

    public TimeSpan MaxAgeDuration => IsoDuration.ParseSetting(MaxAge, "Crl:MaxAge");

    public TimeSpan LeaseDurationValue => IsoDuration.ParseSetting(LeaseDuration, "Crl:LeaseDuration");

    public TimeSpan ClusterPollIntervalDuration => IsoDuration.ParseSetting(ClusterPollInterval, "Crl:ClusterPollInterval");
}
