using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PkiService.AspNetCore.Revocation;
using PkiService.AspNetCore.Trust;

namespace PkiService.AspNetCore.Service;

/// <summary>
/// Before the server starts (<see cref="IHostedLifecycleService.StartingAsync"/>, ahead of every hosted service's
/// start, Kestrel's included): fetches and checks the trust anchors and, for Push and Crl, the first complete CRL,
/// retrying while PkiService is unreachable for <c>PkiClient:StartupTimeout</c>, so the API never serves before it
/// can check. A wrong setting or a root that does not match the pin fails the start at once.
/// </summary>
internal sealed partial class PkiClientStartup(
    IServiceProvider services,
    TrustAnchorStore anchors,
    RevokedSet set,
    TimeProvider time,
    ILogger<PkiClientStartup> logger) : IHostedLifecycleService
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        var settings = (PkiClientSettings)services.GetService(typeof(PkiClientSettings))!;
        var client = (PkiServiceClient)services.GetService(typeof(PkiServiceClient))!;
        var clock = Stopwatch.StartNew();
        var delay = TimeSpan.FromMilliseconds(250);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var rootDer = await client.GetBytesAsync(TrustAnchorLoader.RootPath, cancellationToken);
                var issuingDer = await client.GetBytesAsync(TrustAnchorLoader.IssuingPath, cancellationToken);
                var trust = TrustAnchorLoader.Check(rootDer, issuingDer, settings.RootFingerprint, settings.ServiceUrl, time.GetUtcNow());
                if (settings.Revocation is PkiRevocationMode.Push or PkiRevocationMode.Crl)
                {
                    VerifiedCrl crl;
                    try
                    {
                        crl = await RevocationFollower.LoadCompleteAsync(client, trust, set, settings.MaxRevokedSerials, cancellationToken);
                    }
                    catch (InvalidDataException error)
                    {
                        throw new PkiClientStartupException($"The CRL served at {settings.ServiceUrl}{RevocationFollower.CrlPath} is not usable: {error.Message}", error);
                    }
                    CrlLoaded(logger, crl.Number, crl.Entries.Count, crl.NextUpdate);
                }
                anchors.Current = trust;
                Trusted(logger, settings.ServiceUrl, trust.Root.Subject, trust.Issuing.Subject, settings.Revocation);
                return;
            }
            catch (Exception error) when (!cancellationToken.IsCancellationRequested
                && error is HttpRequestException or IOException or OperationCanceledException)
            {
                if (clock.Elapsed + delay > settings.StartupTimeout)
                {
                    throw new PkiClientStartupException(
                        $"PkiService at {PkiClientOptions.SectionName}:ServiceUrl {settings.ServiceUrl} was not reachable within {PkiClientOptions.SectionName}:StartupTimeout ({settings.StartupTimeout.TotalSeconds:0} s) " +
                        $"({attempt} attempts; last: {error.Message}); check the address, or raise the timeout.", error);
                }
                Unreachable(logger, settings.ServiceUrl, attempt, error.Message, delay.TotalSeconds);
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1230, EventName = "PkiClientServiceUnreachable", Level = LogLevel.Warning,
        Message = "PkiService at {ServiceUrl} not reachable at start (attempt {Attempt}: {Error}); retrying in {DelaySeconds} s")]
    private static partial void Unreachable(ILogger logger, Uri serviceUrl, int attempt, string error, double delaySeconds);

    [LoggerMessage(EventId = 1231, EventName = "PkiClientTrustAnchorsLoaded", Level = LogLevel.Information,
        Message = "Trusting client certificates of {ServiceUrl}: root '{Root}' (pinned), issuing CA '{Issuing}'; revocation {Mode}")]
    private static partial void Trusted(ILogger logger, Uri serviceUrl, string root, string issuing, PkiRevocationMode mode);

    [LoggerMessage(EventId = 1232, EventName = "PkiClientFirstCrlLoaded", Level = LogLevel.Information,
        Message = "Complete CRL {CrlNumber} loaded at start: {Count} revoked serials, nextUpdate {NextUpdate:O}")]
    private static partial void CrlLoaded(ILogger logger, long crlNumber, int count, DateTimeOffset nextUpdate);
}
