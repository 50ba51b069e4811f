using System.Text;
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

    /// <summary>
    /// Checks the configuration, unlocks the CA keys, then prepares the database and the bootstrap admin key, in that
    /// order: a setting that stops the start (<see cref="StartupConfigurationException"/>, a wrong passphrase included)
    /// does so before the database, the API keys or the <c>admin-api-key</c> file are touched.
    /// </summary>
    public static async Task InitializePkiAsync(this WebApplication app, CancellationToken cancellationToken = default)
    {
        var options = app.Services.GetRequiredService<IOptions<PkiOptions>>().Value;
        var admin = app.Services.GetRequiredService<IOptions<AdminOptions>>().Value;
        var notifications = app.Services.GetRequiredService<IOptions<NotificationOptions>>().Value;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("PkiService.Startup");
        CheckConfiguration(admin, notifications);
        CheckValidatedOptions(app.Services);
        IPkiDatabase database;
        try
        {
            database = app.Services.GetRequiredService<IPkiDatabase>();
        }
        catch (DatabaseConfigurationException exception)
        {
            throw new StartupConfigurationException(exception.Message, exception);
        }
        DataDirectory.Ensure(options.DataDirectoryFullPath);
        // The key passphrase (a missing one on a shared database stops the start here, before the database is touched).
        app.Services.GetRequiredService<CaKeyVault>();

        // On a shared database the CA keys live in the schema, so it is applied first; the wrong-passphrase check that
        // follows then changes nothing but the schema, which every node applies the same way.
        if (database.IsShared)
        {
            await PrepareDatabaseAsync(app.Services, database, cancellationToken);
        }

        // Loading the CAs (and their OCSP responder keys) before the bootstrap key makes a wrong passphrase stop the start
        // before anything else changes, instead of at the first enrollment or after the bootstrap key was replaced. On
        // SQLite this comes before the database file is touched at all.
        CaHierarchy hierarchy;
        try
        {
            hierarchy = app.Services.GetRequiredService<CaHierarchy>();
            app.Services.GetRequiredService<OcspResponderSet>();
        }
        catch (CaKeyUnlockException exception)
        {
            throw new StartupConfigurationException(exception.Message, exception);
        }

        if (!database.IsShared)
        {
            await PrepareDatabaseAsync(app.Services, database, cancellationToken);
        }
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();
            await EnsureBootstrapApiKeyAsync(db, database, scope.ServiceProvider.GetRequiredService<AuditTrail>(), options, admin,
                scope.ServiceProvider.GetRequiredService<TimeProvider>(), logger, cancellationToken);
        }

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

    /// <summary>Readies the storage and applies the schema (on PostgreSQL once across nodes starting at once).</summary>
    /// <remarks>Also run by the <c>ca</c> commands, whose key store may be the shared database.</remarks>
    internal static async Task PrepareDatabaseAsync(IServiceProvider services, IPkiDatabase database, CancellationToken cancellationToken)
    {
        try
        {
            await database.PrepareStorageAsync(cancellationToken);
        }
        catch (DatabaseConfigurationException exception)
        {
            // An unreachable server or a refused login (PostgreSQL): one line naming the setting, exit code 1.
            throw new StartupConfigurationException(exception.Message, exception);
        }
        await using var scope = services.CreateAsyncScope();
        await database.MigrateAsync(scope.ServiceProvider.GetRequiredService<PkiDbContext>(), cancellationToken);
    }

    /// <summary>
    /// True when this assembly is the process's entry point (<c>dotnet PkiService.Api.dll</c>): a refused start then
    /// prints its one line and exits with <see cref="StartupConfigurationException.ExitCode"/>. Under a test host the
    /// exception goes to the host instead.
    /// </summary>
    public static bool IsOwnProcess => System.Reflection.Assembly.GetEntryAssembly() == typeof(PkiStartup).Assembly;

    /// <summary>
    /// Options registered with <c>ValidateOnStart()</c> are checked now, before anything is touched, and a failure stops
    /// the start with the validator's line (which names the key) instead of a stack trace when the host starts.
    /// </summary>
    private static void CheckValidatedOptions(IServiceProvider services)
    {
        try
        {
            services.GetService<IStartupValidator>()?.Validate();
        }
        catch (OptionsValidationException exception)
        {
            throw new StartupConfigurationException(string.Join(" ", exception.Failures), exception);
        }
    }

    /// <summary>Settings that would make the service insecure or useless stop the start, each with one line that names it.</summary>
    private static void CheckConfiguration(AdminOptions admin, NotificationOptions notifications)
    {
        if (!string.IsNullOrEmpty(admin.BootstrapApiKey) && admin.BootstrapApiKey.Length < AdminOptions.MinimumBootstrapApiKeyLength)
        {
            throw new StartupConfigurationException(
                $"Admin:BootstrapApiKey is too short: use at least {AdminOptions.MinimumBootstrapApiKeyLength} random characters " +
                "(e.g. pki_ak_ and 'openssl rand -hex 32'), or leave it unset to have one generated into the data directory.");
        }
        var webhook = notifications.Webhook;
        if (string.IsNullOrWhiteSpace(webhook.Url))
        {
            return;
        }
        if (!Uri.TryCreate(webhook.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            throw new StartupConfigurationException("Notifications:Webhook:Url is not an absolute http(s) URL; set one, or leave it unset to turn the webhook off.");
        }
        if (Encoding.UTF8.GetByteCount(webhook.Secret ?? string.Empty) < NotificationOptions.WebhookOptions.MinimumSecretBytes)
        {
            throw new StartupConfigurationException(
                $"Notifications:Webhook:Secret must be at least {NotificationOptions.WebhookOptions.MinimumSecretBytes} bytes when " +
                "Notifications:Webhook:Url is set (it keys the X-Pki-Signature HMAC); set one, e.g. from 'openssl rand -hex 32'.");
        }
    }

    /// <summary>
    /// Makes the bootstrap admin key the configured one (or the one in <c>&lt;data&gt;/admin-api-key</c>). Every
    /// change (created, replaced by a configured key, replaced by a generated one) is logged and audited as
    /// <c>apikey.bootstrap</c> in the same transaction; the key itself never is. On a shared database a node without a
    /// configured key only creates one (and writes its file) when no node has yet: a node with an empty data directory
    /// must not replace the key the others use.
    /// </summary>
    private static async Task EnsureBootstrapApiKeyAsync(
        PkiDbContext db, IPkiDatabase database, AuditTrail audit, PkiOptions pki, AdminOptions admin, TimeProvider time, ILogger logger,
        CancellationToken cancellationToken)
    {
        var configured = !string.IsNullOrEmpty(admin.BootstrapApiKey);
        // Shared: read the row under the write lock, so nodes starting at once neither both insert it nor both generate one.
        await using var sharedTransaction = database.IsShared ? await db.Database.BeginTransactionAsync(cancellationToken) : null;
        var record = await db.ApiKeys.FirstOrDefaultAsync(k => k.Id == BootstrapApiKeyId, cancellationToken);
        if (database.IsShared && !configured && record is not null)
        {
            LogBootstrapKeyKept(logger);
            return;
        }

        string key;
        string source;
        if (configured)
        {
            key = admin.BootstrapApiKey!;
            source = "Admin:BootstrapApiKey";
        }
        else
        {
            var path = Path.Combine(pki.DataDirectoryFullPath, BootstrapApiKeyFile);
            (key, var created) = DataDirectory.ReadOrCreateSecret(path, () => Secrets.Generate(Secrets.ApiKeyPrefix));
            if (created)
            {
                LogBootstrapKeyWritten(logger, path);
            }
            source = created ? $"a key generated into {BootstrapApiKeyFile}" : $"the key in {BootstrapApiKeyFile}";
        }

        string change;
        if (record is null)
        {
            db.ApiKeys.Add(new ApiKeyRecord
            {
                Id = BootstrapApiKeyId,
                Name = "bootstrap",
                SecretHash = Secrets.Hash(key),
                Role = ApiRoles.Admin,
                CreatedAt = time.GetUtcNow().UtcDateTime,
            });
            change = $"created from {source}";
        }
        else if (!Secrets.Matches(record.SecretHash, key))
        {
            record.SecretHash = Secrets.Hash(key); // the old bootstrap key stops working
            change = $"replaced by {source}; the previous bootstrap key no longer works";
            LogBootstrapKeyReplaced(logger, source);
        }
        else
        {
            return;
        }
        await using var transaction = sharedTransaction ?? await db.Database.BeginTransactionAsync(cancellationToken);
        await audit.AppendAsync(new AuditEntry(AuditTrail.System, "apikey.bootstrap", BootstrapApiKeyId, Success: true, change), cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    [LoggerMessage(EventId = 1023, EventName = "BootstrapApiKeyKept", Level = LogLevel.Information,
        Message = "Admin:BootstrapApiKey is not set and the shared database already holds a bootstrap admin API key (created by another node or an earlier start); it is left as is and no admin-api-key file is written.")]
    private static partial void LogBootstrapKeyKept(ILogger logger);

    [LoggerMessage(EventId = 1020, EventName = "BootstrapApiKeyWritten", Level = LogLevel.Warning,
        Message = "Admin:BootstrapApiKey is not set; a new admin API key was written to {Path} (mode 0600). Use it as 'Authorization: Bearer <key>'.")]
    private static partial void LogBootstrapKeyWritten(ILogger logger, string path);

    [LoggerMessage(EventId = 1022, EventName = "BootstrapApiKeyReplaced", Level = LogLevel.Warning,
        Message = "The bootstrap admin API key was replaced by {Source}; the previous bootstrap key no longer works (audited as apikey.bootstrap).")]
    private static partial void LogBootstrapKeyReplaced(ILogger logger, string source);

    [LoggerMessage(EventId = 1021, EventName = "PkiReady", Level = LogLevel.Information,
        Message = "PkiService ready: data directory {DataDirectory}, root CA SHA-256 {RootFingerprint}, issuing CA SHA-256 {IssuingFingerprint}")]
    private static partial void LogReady(ILogger logger, string dataDirectory, string rootFingerprint, string issuingFingerprint);
}
