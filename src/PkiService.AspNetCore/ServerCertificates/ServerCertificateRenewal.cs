using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PkiService.AspNetCore.ServerCertificates;

/// <summary>
/// Enrolls the server certificate when the host starts (before Kestrel listens: hosted services registered with the
/// application's services start before the web server) and renews it over mTLS when two thirds of its life have
/// passed; a failed renewal is retried every tenth of the remaining life (between 1 s and 5 min) until it expires.
/// Does nothing without <c>PkiClient:EnrollmentToken</c>.
/// </summary>
internal sealed class ServerCertificateRenewal(
    ServerCertificateClient client,
    ServerCertificateSource source,
    IOptions<PkiClientOptions> options,
    TimeProvider time,
    ILogger<ServerCertificateRenewal> logger) : BackgroundService
{
    private static readonly TimeSpan MinimumRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaximumRetry = TimeSpan.FromMinutes(5);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.EnrollmentToken is { Length: > 0 } token)
        {
            // A refusal stops the start: the API has no certificate to serve. The message carries PkiService's problem
            // title, never the token.
            var enrolled = await client.EnrollAsync(token, cancellationToken);
            source.Use(enrolled);
            ServerCertificateLog.Enrolled(logger, enrolled.SerialNumber, enrolled.Certificate.Subject, enrolled.DescribeNames(), enrolled.NotAfter, enrolled.RenewAt);
        }
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested && source.Current is { } current)
        {
            var wait = current.RenewAt - time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time, stoppingToken);
            }
            try
            {
                var renewed = await client.RenewAsync(current, stoppingToken);
                source.Use(renewed);
                ServerCertificateLog.Renewed(logger, renewed.SerialNumber, current.SerialNumber, renewed.NotAfter, renewed.RenewAt);
            }
            catch (Exception error) when (error is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                var left = current.NotAfter - time.GetUtcNow();
                if (left <= TimeSpan.Zero)
                {
                    // An expired certificate cannot renew itself (PkiService answers 401): only a new token helps.
                    ServerCertificateLog.Expired(logger, current.SerialNumber, current.NotAfter);
                    return;
                }
                var retry = TimeSpan.FromTicks(Math.Clamp(left.Ticks / 10, MinimumRetry.Ticks, MaximumRetry.Ticks));
                ServerCertificateLog.RenewalFailed(logger, current.SerialNumber, client.RenewalUrl, current.NotAfter, retry, error.Message);
                await Task.Delay(retry, time, stoppingToken);
            }
        }
    }
}
