using System.Globalization;
using Microsoft.Extensions.Options;
using PkiService.Core.Primitives;

namespace PkiService.Api.Audit;

/// <summary>The <c>Audit</c> configuration section's setting for anonymous failures (ISO 8601 duration).</summary>
public sealed class AnonymousFailureAuditOptions
{
    public const string Section = "Audit";

    /// <summary>How often the anonymous failures counted since the last summary are written, one row per action.</summary>
    public string AnonymousFailureSummaryInterval { get; set; } = "PT1M";

    public TimeSpan AnonymousFailureSummaryIntervalDuration =>
        IsoDuration.ParseSetting(AnonymousFailureSummaryInterval, "Audit:AnonymousFailureSummaryInterval");
}

/// <summary>
/// Audits failures that nobody can be held to (a renewal without a certificate or with one this CA did not issue, an
/// unknown enrollment token, an unknown API key) without one database write each: anyone can send them as fast as the
/// network allows, and each row is a transaction that holds SQLite's write lock (a flood of them once slowed enrollment
/// more than sixfold). Per action and per interval (<c>Audit:AnonymousFailureSummaryInterval</c>), the first such
/// failure is written as its own row, with its reason and client IP, so an operator sees at once that it started; the
/// rest are only counted in memory, and <see cref="AnonymousFailureSummaryJob"/> writes one summary row per action at
/// the end of the interval (count, number of distinct client IPs, a few of them) and at shutdown. So anonymous
/// failures add at most two rows per action per interval. Bounded: the actions are the callers' constants, and at
/// most <see cref="MaxTrackedAddresses"/> distinct addresses are remembered per action and interval.
/// <para>
/// Failures that can be attributed (a known enrollment token, a certificate this CA issued whose key the client proved
/// in the TLS handshake) are not anonymous and keep their own rows: the callers explain why their rate is bounded.
/// </para>
/// </summary>
public sealed class AnonymousFailureAudit(TimeProvider time)
{
    /// <summary>Distinct client addresses remembered per action and interval; beyond it the count is "at least".</summary>
    public const int MaxTrackedAddresses = 1024;

    /// <summary>Client addresses named in a summary row.</summary>
    public const int SampleAddresses = 5;

    private readonly Lock _lock = new();
    private Dictionary<string, Tally> _tallies = new(StringComparer.Ordinal);
    private DateTimeOffset _since = time.GetUtcNow();

    /// <summary>
    /// Records an anonymous failure: appends <paramref name="entry"/> through <paramref name="audit"/> when it is the
    /// first of its action in this interval, otherwise only counts it for the interval's summary row.
    /// </summary>
    public Task RecordAsync(AuditTrail audit, AuditEntry entry, CancellationToken cancellationToken)
    {
        var clientIp = entry.ClientIp ?? audit.CurrentClientIp;
        lock (_lock)
        {
            if (!_tallies.TryGetValue(entry.Action, out var tally))
            {
                _tallies[entry.Action] = new Tally();
            }
            else
            {
                tally.Count(clientIp);
                return Task.CompletedTask;
            }
        }
        return audit.AppendAsync(entry with { ClientIp = clientIp }, cancellationToken);
    }

    /// <summary>Ends the interval: a summary entry for each action that had failures beyond the one written in full.</summary>
    public IReadOnlyList<AuditEntry> TakeSummaries()
    {
        Dictionary<string, Tally> tallies;
        DateTimeOffset since;
        var now = time.GetUtcNow();
        lock (_lock)
        {
            (tallies, _tallies) = (_tallies, new Dictionary<string, Tally>(StringComparer.Ordinal));
            (since, _since) = (_since, now);
        }
        return tallies
            .Where(t => t.Value.Failures > 0)
            .OrderBy(t => t.Key, StringComparer.Ordinal)
            .Select(t => new AuditEntry(AuditTrail.Anonymous, t.Key, null, Success: false, t.Value.Describe(since, now)))
            .ToList();
    }

    private sealed class Tally
    {
        private readonly HashSet<string> _addresses = new(StringComparer.Ordinal);
        private readonly List<string> _samples = new(SampleAddresses);
        private bool _addressesCapped;

        public long Failures { get; private set; }

        public void Count(string? clientIp)
        {
            Failures++;
            var address = clientIp ?? "unknown";
            if (_addresses.Count >= MaxTrackedAddresses)
            {
                _addressesCapped |= !_addresses.Contains(address);
                return;
            }
            if (_addresses.Add(address) && _samples.Count < SampleAddresses)
            {
                _samples.Add(address);
            }
        }

        public string Describe(DateTimeOffset since, DateTimeOffset until) => string.Create(CultureInfo.InvariantCulture,
            $"summary: {Failures} more anonymous failures from {(_addressesCapped ? "at least " : "")}{_addresses.Count} client IPs " +
            $"between {since:O} and {until:O} (after the first, recorded in full); client IPs include {string.Join(", ", _samples)}");
    }
}

/// <summary>Writes <see cref="AnonymousFailureAudit"/>'s summary rows every interval and once more at shutdown.</summary>
public sealed partial class AnonymousFailureSummaryJob(
    AnonymousFailureAudit failures,
    IServiceScopeFactory scopes,
    IOptions<AnonymousFailureAuditOptions> options,
    TimeProvider time,
    ILogger<AnonymousFailureSummaryJob> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.AnonymousFailureSummaryIntervalDuration, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(CancellationToken.None); // short; a cancelled write would lose the taken counts
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: StopAsync writes what is left.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(cancellationToken);
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        foreach (var summary in failures.TakeSummaries())
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<AuditTrail>().AppendAsync(summary, cancellationToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // The counts are not kept for a retry (they would grow without bound while the database is down); the log keeps them.
                LogSummaryFailed(logger, summary.Action, summary.Details, exception);
            }
        }
    }

    [LoggerMessage(EventId = 2201, EventName = "AnonymousFailureSummaryFailed", Level = LogLevel.Error,
        Message = "Could not write the audit summary of anonymous {Action} failures: {Summary}")]
    private static partial void LogSummaryFailed(ILogger logger, string action, string? summary, Exception exception);
}

public static class AnonymousFailureAuditRegistration
{
    /// <summary>The in-memory tally of anonymous failures and the job that writes its summary rows.</summary>
    public static IServiceCollection AddAnonymousFailureAudit(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<AnonymousFailureAuditOptions>(configuration.GetSection(AnonymousFailureAuditOptions.Section));
        services.AddSingleton<AnonymousFailureAudit>();
        services.AddHostedService<AnonymousFailureSummaryJob>();
        return services;
    }
}
