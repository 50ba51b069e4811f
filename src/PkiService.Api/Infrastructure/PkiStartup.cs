using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using PkiService.Api.Features.Crl;
using PkiService.Api.Features.Expiry;
using PkiService.Api.Features.Ocsp;
using PkiService.Api.Features.Renewal;
using PkiService.Core.Authorities;
using PkiService.Persistence;
using PkiService.Persistence.Entities;
using PkiService.Api.Audit;
using PkiService.Api.Authentication;

namespace PkiService.Api.Infrastructure;

/// <summary>What happens once before the service accepts requests: data directory, database, CAs, first API key.</summary>
public static partial class PkiStartup
{
    public const string BootstrapApiKeyId = "bootstrap";
    public const string BootstrapApiKeyFile = "admin-api-key";

    /// <summary>
    /// Start-up (migrations, EF Core's model, CA keys, the first CRLs, then the background jobs' first passes) leaves
    /// garbage the GC would otherwise keep committed until its next collection, which an idle service may not have for a
    /// long time. One aggressive, compacting collection once the host has started and those first passes have had a
    /// moment returns it to the operating system.
    /// </summary>
    public static void ReleaseStartupMemory(this WebApplication app) =>
        app.Lifetime.ApplicationStarted.Register(() => _ = ReleaseOnceSettledAsync(app.Lifetime.ApplicationStopping));

    private static readonly TimeSpan StartupSettleTime = TimeSpan.FromSeconds(1);

    private static async Task ReleaseOnceSettledAsync(CancellationToken stopping)
    {
        try
        {
            await Task.Delay(StartupSettleTime, stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    public static async Task InitializePkiAsync(this WebApplication app, CancellationToken cancellationToken = default)
    {
        var options = app.Services.GetRequiredService<IOptions<PkiOptions>>().Value;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("PkiService.Startup");
        DataDirectory.Ensure(options.DataDirectoryFullPath);

        await SqliteDatabase.PrepareFileAsync(options.DataDirectoryFullPath, cancellationToken);
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();
            await db.Database.MigrateAsync(cancellationToken);
            await EnsureBootstrapApiKeyAsync(db, options, scope.ServiceProvider.GetRequiredService<IOptions<AdminOptions>>().Value,
                scope.ServiceProvider.GetRequiredService<TimeProvider>(), logger, cancellationToken);
        }

        // Loading the CAs here makes a wrong passphrase stop the start instead of the first enrollment.
        var hierarchy = app.Services.GetRequiredService<CaHierarchy>();
        app.Services.GetRequiredService<OcspResponderSet>();
        await using (var scope = app.Services.CreateAsyncScope())
        {
            // Rows written before the audit MAC get one now (first start after the upgrade only), before this start's rows.
            await AuditSealing.SealRowsWithoutMacOnceAsync(scope.ServiceProvider, options.DataDirectoryFullPath, logger, cancellationToken);
        }
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var audit = scope.ServiceProvider.GetRequiredService<AuditTrail>();
            foreach (var (name, ca) in new[] { (CaHierarchy.RootName, hierarchy.Root), (CaHierarchy.IssuingName, hierarchy.Issuing) })
            {
                var action = hierarchy.Created.Contains(name) ? "ca.create" : "ca.key-load";
                await audit.AppendAsync(new AuditEntry(AuditTrail.System, action, name, Success: true, $"SHA-256 {ca.Fingerprint}"), cancellationToken);
            }
            // Where expiry warnings go is security-relevant (a webhook URL receives certificate inventory): record the
            // channel configuration in force at each start, without secrets.
            var channels = scope.ServiceProvider.GetServices<IExpiryWarningChannel>()
                .Select(c => $"{c.Name}={(c.IsConfigured ? "on" : "off")}");
            var notifications = scope.ServiceProvider.GetRequiredService<IOptions<NotificationOptions>>().Value;
            var webhookHost = Uri.TryCreate(notifications.Webhook.Url, UriKind.Absolute, out var webhook) ? webhook.Host : "-";
            await audit.AppendAsync(new AuditEntry(AuditTrail.System, "notifications.configure", null, Success: true,
                $"{string.Join(", ", channels)}; webhook host {webhookHost}; smtp host {notifications.Smtp.Host ?? "-"}"), cancellationToken);
        }
        // Publish CRLs before the first request, with a CRL number above any used before this start.
        await app.Services.GetRequiredService<CrlPublisher>().EnsurePublishedAfterAsync(cancellationToken);
        // The mTLS listener's server certificate is loaded or issued now, so the first handshake does not wait for it.
        if (app.Services.GetRequiredService<MtlsListenerSettings>().Address is not null)
        {
            await app.Services.GetRequiredService<MtlsListenerCertificate>().GetCertificateAsync(cancellationToken);
        }
        LogReady(logger, options.DataDirectoryFullPath, hierarchy.Root.Fingerprint, hierarchy.Issuing.Fingerprint);
    }

    private static async Task EnsureBootstrapApiKeyAsync(
        PkiDbContext db, PkiOptions pki, AdminOptions admin, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        string key;
        if (!string.IsNullOrEmpty(admin.BootstrapApiKey))
        {
            key = admin.BootstrapApiKey;
        }
        else
        {
            var path = Path.Combine(pki.DataDirectoryFullPath, BootstrapApiKeyFile);
            (key, var created) = DataDirectory.ReadOrCreateSecret(path, () => Secrets.Generate(Secrets.ApiKeyPrefix));
            if (created)
            {
                LogBootstrapKeyWritten(logger, path);
            }
        }

        var hash = Secrets.Hash(key);
        var record = await db.ApiKeys.FirstOrDefaultAsync(k => k.Id == BootstrapApiKeyId, cancellationToken);
        if (record is null)
        {
            db.ApiKeys.Add(new ApiKeyRecord
            {
                Id = BootstrapApiKeyId,
                Name = "bootstrap",
                SecretHash = hash,
                Role = ApiRoles.Admin,
                CreatedAt = time.GetUtcNow().UtcDateTime,
            });
        }
        else if (!Secrets.Matches(record.SecretHash, key))
        {
            record.SecretHash = hash; // Admin:BootstrapApiKey was changed: the old bootstrap key stops working
        }
        await db.SaveChangesAsync(cancellationToken);
    }

    [LoggerMessage(EventId = 1020, EventName = "BootstrapApiKeyWritten", Level = LogLevel.Warning,
        Message = "Admin:BootstrapApiKey is not set; a new admin API key was written to {Path} (mode 0600). Use it as 'Authorization: Bearer <key>'.")]
    private static partial void LogBootstrapKeyWritten(ILogger logger, string path);

    [LoggerMessage(EventId = 1021, EventName = "PkiReady", Level = LogLevel.Information,
        Message = "PkiService ready: data directory {DataDirectory}, root CA SHA-256 {RootFingerprint}, issuing CA SHA-256 {IssuingFingerprint}")]
    private static partial void LogReady(ILogger logger, string dataDirectory, string rootFingerprint, string issuingFingerprint);
}
