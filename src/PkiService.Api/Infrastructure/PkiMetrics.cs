using System.Diagnostics.Metrics;
using Microsoft.EntityFrameworkCore;
using PkiService.Core.Authorities;
using PkiService.Core.Errors;
using PkiService.Core.Ocsp;
using PkiService.Persistence;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Infrastructure;

/// <summary>
/// Gauges a feature adds to the <c>PkiService</c> meter, read from the state the feature owns when a scraper asks. The
/// feature registers them (<c>services.AddSingleton&lt;IPkiGauges, ...&gt;()</c> in its <c>Add…()</c>), so the metrics
/// never reach into a feature's folder.
/// </summary>
public interface IPkiGauges
{
    /// <summary>Creates the gauges on <paramref name="meter"/>; read them through <see cref="PkiMetrics.Observe{T}"/>.</summary>
    void Register(Meter meter, PkiMetrics metrics);
}

/// <summary>
/// The <c>PkiService</c> meter. Features count through the methods below; the gauges read the state its owner keeps
/// when a scraper asks; a feature adds its own through <see cref="IPkiGauges"/> (all exported at <c>/metrics</c>, where the dots become
/// underscores, counters end in <c>_total</c> and durations in <c>_seconds</c>).
/// </summary>
public sealed partial class PkiMetrics
{
    public const string MeterName = "PkiService";

    /// <summary>How long the count of soon-expiring certificates is reused, so frequent scrapes do not each query the database.</summary>
    public static readonly TimeSpan ExpiringSoonCacheDuration = TimeSpan.FromSeconds(30);

    /// <summary>The window of the expiring-soon gauge.</summary>
    public static readonly TimeSpan ExpiringSoonWindow = TimeSpan.FromDays(7);

    private readonly IServiceProvider _services;
    private readonly TimeProvider _time;
    private readonly ILogger<PkiMetrics> _logger;
    private readonly Counter<long> _issued;
    private readonly Counter<long> _renewed;
    private readonly Counter<long> _revoked;
    private readonly Counter<long> _ocspRequests;
    private readonly Histogram<double> _ocspDuration;
    private readonly Histogram<double> _crlBuildDuration;
    private readonly Histogram<int> _commitBatchSize;
    private readonly Histogram<double> _commitDuration;
    private readonly Counter<long> _expiryWarnings;
    private readonly Lock _expiringLock = new();
    private (long Count, DateTimeOffset At)? _expiring;

    // services is the root provider: the gauges resolve the CA hierarchy (and the features' gauges what they read)
    // only when observed, so that creating the meter does not load keys.
    public PkiMetrics(IMeterFactory meterFactory, IServiceProvider services, TimeProvider time, ILogger<PkiMetrics> logger)
    {
        _services = services;
        _time = time;
        _logger = logger;
        var meter = meterFactory.Create(MeterName);

        _issued = meter.CreateCounter<long>("pki.certificates.issued", description: "Enrollment attempts by profile, outcome (success, unauthorized, rejected, error) and protocol (rest, est)");
        _renewed = meter.CreateCounter<long>("pki.certificates.renewed", description: "Renewal attempts over mTLS by profile, outcome (success, replayed, unauthorized, rejected, error) and protocol (rest, est)");
        _revoked = meter.CreateCounter<long>("pki.certificates.revoked", description: "Revocation requests by profile and outcome (success, not_found, conflict, invalid, error)");
        _ocspRequests = meter.CreateCounter<long>("pki.ocsp.requests", description: "OCSP requests by answer: good, revoked, unknown, mixed, malformed, unauthorized, internal_error");
        _ocspDuration = meter.CreateHistogram<double>("pki.ocsp.request.duration", unit: "s", description: "Time to answer an OCSP request (parse, cache or look up, sign)");
        _crlBuildDuration = meter.CreateHistogram<double>("pki.crl.build.duration", unit: "s", description: "Time to build, number and sign both CRLs");
        _commitBatchSize = meter.CreateHistogram<int>("pki.issuance.commit.batch_size", unit: "{enrollment}",
            description: "Issuances (enrollments and renewals) stored by one database transaction (group commit)",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] });
        _commitDuration = meter.CreateHistogram<double>("pki.issuance.commit.duration", unit: "s", description: "Time of one group-commit transaction, from BEGIN to COMMIT");
        _expiryWarnings = meter.CreateCounter<long>("pki.expiry.warnings", description: "Expiry warning delivery attempts by channel and outcome (sent, failed, given_up, passed)");

        meter.CreateObservableGauge("pki.certificates.expiring_soon", ObserveExpiringSoon,
            description: "Active certificates whose notAfter is within 7 days (counted at most every 30 s)");
        meter.CreateObservableGauge("pki.ca.days_left", ObserveCaDaysLeft, description: "Days until the CA certificate expires, by CA");
        foreach (var gauges in services.GetServices<IPkiGauges>())
        {
            gauges.Register(meter, this);
        }
    }

    public void CertificateIssued(string? profile, string outcome, string protocol) =>
        _issued.Add(1, [new("profile", profile ?? "none"), new("outcome", outcome), new("protocol", protocol)]);

    public void CertificateRenewed(string? profile, string outcome, string protocol) =>
        _renewed.Add(1, [new("profile", profile ?? "none"), new("outcome", outcome), new("protocol", protocol)]);

    public void CertificateRevoked(string? profile, string outcome) => _revoked.Add(1, Tags(profile, outcome));

    public void OcspAnswered(OcspReply reply, TimeSpan elapsed)
    {
        _ocspRequests.Add(1, new KeyValuePair<string, object?>("status", reply.Summary));
        _ocspDuration.Record(elapsed.TotalSeconds);
    }

    public void CrlBuilt(TimeSpan elapsed) => _crlBuildDuration.Record(elapsed.TotalSeconds);

    public void IssuanceCommitted(int enrollments, TimeSpan elapsed)
    {
        _commitBatchSize.Record(enrollments);
        _commitDuration.Record(elapsed.TotalSeconds);
    }

    public void ExpiryWarning(string channel, string outcome) =>
        _expiryWarnings.Add(1, new KeyValuePair<string, object?>("channel", channel), new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>The outcome label for a failed attempt, from the exception that ended it.</summary>
    public static string Outcome(Exception exception) => exception switch
    {
        AuthenticationFailedException => "unauthorized",
        CsrRejectedException or PolicyRefusedException => "rejected",
        InvalidRequestException => "invalid",
        NotFoundException => "not_found",
        ConflictException => "conflict",
        OperationCanceledException => "cancelled",
        _ => "error",
    };

    private static KeyValuePair<string, object?>[] Tags(string? profile, string outcome) =>
        [new("profile", profile ?? "none"), new("outcome", outcome)];

    private IEnumerable<Measurement<double>> ObserveCaDaysLeft() =>
        Observe<double>(() =>
        {
            var hierarchy = _services.GetRequiredService<CaHierarchy>();
            var now = _time.GetUtcNow();
            return
            [
                DaysLeft(new DateTimeOffset(hierarchy.Issuing.Certificate.NotAfter, TimeSpan.Zero), now, CaHierarchy.IssuingName),
                DaysLeft(new DateTimeOffset(hierarchy.Root.Certificate.NotAfter, TimeSpan.Zero), now, CaHierarchy.RootName),
            ];
        });

    /// <summary>A COUNT over the notAfter index, reused for <see cref="ExpiringSoonCacheDuration"/>.</summary>
    private IEnumerable<Measurement<long>> ObserveExpiringSoon() =>
        Observe<long>(() =>
        {
            var now = _time.GetUtcNow();
            lock (_expiringLock)
            {
                if (_expiring is not { } cached || now - cached.At >= ExpiringSoonCacheDuration || now < cached.At)
                {
                    using var scope = _services.CreateScope();
                    var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();
                    var from = now.UtcDateTime;
                    var until = (now + ExpiringSoonWindow).UtcDateTime;
                    var count = db.Certificates.AsNoTracking()
                        .LongCount(c => c.Status == CertificateStatus.Active && c.NotAfter > from && c.NotAfter <= until);
                    _expiring = cached = (count, now);
                }
                return [new Measurement<long>(cached.Count)];
            }
        });

    /// <summary>A value tagged with its CA (<c>ca</c> = issuing or root).</summary>
    public static Measurement<long> Measure(long value, string ca) => new(value, new KeyValuePair<string, object?>("ca", ca));

    /// <summary>Days from <paramref name="now"/> to <paramref name="notAfter"/>, tagged with its CA.</summary>
    public static Measurement<double> DaysLeft(DateTimeOffset notAfter, DateTimeOffset now, string ca) =>
        new(Math.Round((notAfter - now).TotalDays, 3), new KeyValuePair<string, object?>("ca", ca));

    /// <summary>A gauge that cannot be read (database locked, host shutting down) reports nothing rather than failing the scrape.</summary>
    public IEnumerable<Measurement<T>> Observe<T>(Func<Measurement<T>[]> read) where T : struct
    {
        try
        {
            return read();
        }
        catch (Exception exception)
        {
            LogGaugeFailed(_logger, exception);
            return [];
        }
    }

    [LoggerMessage(EventId = 9101, EventName = "MetricsGaugeFailed", Level = LogLevel.Warning, Message = "A metrics gauge could not be read; it is left out of this scrape")]
    private static partial void LogGaugeFailed(ILogger logger, Exception exception);
}
