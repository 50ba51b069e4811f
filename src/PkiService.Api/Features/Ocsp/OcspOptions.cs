using PkiService.Core.Primitives;

namespace PkiService.Api.Features.Ocsp;

/// <summary>The <c>Ocsp</c> configuration section (ISO 8601 durations).</summary>
public sealed class OcspOptions
{
    public const string Section = "Ocsp";

    /// <summary>nextUpdate - thisUpdate of each single response.</summary>
    public string ResponseValidity { get; set; } = "PT1H";

    /// <summary>Lifetime of the delegated OCSP responder certificates (renewed when a third is left).</summary>
    public string ResponderValidity { get; set; } = "P30D";

    /// <summary>How often the responder certificates are checked for renewal.</summary>
    public string RenewalCheckInterval { get; set; } = "PT1H";

    /// <summary>Upper bound of Cache-Control max-age on GET answers (also never past nextUpdate).</summary>
    public string MaxAge { get; set; } = "PT5M";

    /// <summary>128 MiB: room for about 65,000 certificates asked about (a reply with its responder certificate keeps about 1.4 KB).</summary>
    public const long DefaultCacheMaxBytes = 128L * 1024 * 1024;

    /// <summary>
    /// Bytes the OCSP cache may hold (estimated per row): 11/16 for signed replies, 3/16 for the request bytes of the
    /// fast path, 2/16 for certificate statuses. Replaces the former entry count
    /// <c>Ocsp:CacheCapacity</c>, which bounded rows of any size.
    /// </summary>
    public long CacheMaxBytes { get; set; } = DefaultCacheMaxBytes;

    /// <summary>Retired: it bounded rows of any size. Not used; a value only makes the start log that it is ignored.</summary>
    public int? CacheCapacity { get; set; }

    public TimeSpan ResponseValidityDuration => IsoDuration.ParseSetting(ResponseValidity, "Ocsp:ResponseValidity");

    public TimeSpan ResponderValidityDuration => IsoDuration.ParseSetting(ResponderValidity, "Ocsp:ResponderValidity");

    public TimeSpan RenewalCheckIntervalDuration => IsoDuration.ParseSetting(RenewalCheckInterval, "Ocsp:RenewalCheckInterval");

    public TimeSpan MaxAgeDuration => IsoDuration.ParseSetting(MaxAge, "Ocsp:MaxAge");
}
