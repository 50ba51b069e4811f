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

    public TimeSpan ValidityDuration => IsoDuration.ParseSetting(Validity, "Crl:Validity");

    public TimeSpan RefreshBeforeDuration => IsoDuration.ParseSetting(RefreshBefore, "Crl:RefreshBefore");

    public TimeSpan CheckIntervalDuration => IsoDuration.ParseSetting(CheckInterval, "Crl:CheckInterval");

    public TimeSpan MaxAgeDuration => IsoDuration.ParseSetting(MaxAge, "Crl:MaxAge");
}
