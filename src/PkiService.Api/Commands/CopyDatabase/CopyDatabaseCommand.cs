using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using PkiService.Api.Audit;
using PkiService.Api.Infrastructure;
using PkiService.Core.Audit;
using PkiService.Core.Authorities;
using PkiService.Core.Ocsp;
using PkiService.Persistence;
using PkiService.Persistence.Copying;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Commands.CopyDatabase;

/// <summary>
/// <c>dotnet PkiService.Api.dll copy-database --to "&lt;Npgsql connection string&gt;"</c>: copies a single node's
/// deployment (its SQLite database, and the CA keys and audit seal its data directory keeps as files) into an empty
/// PostgreSQL database that a cluster of nodes then runs on. Reads the old node's configuration from the same sources
/// as the service (appsettings, environment, command line: <c>--Pki:DataDirectory=...</c>, <c>--Pki:KeyPassphrase=...</c>)
/// and starts no web host, listener or background job. Prints a summary (rows per table) and exits
/// <see cref="CopyDatabaseExitCodes.Copied"/>, or prints one line and exits with another of <see cref="CopyDatabaseExitCodes"/>.
/// Never prints the connection string, a passphrase or a key.
/// </summary>
public static class CopyDatabaseCommand
{
    /// <summary>The command's name, the first argument.</summary>
    public const string Name = "copy-database";

    /// <summary>The option that names the target.</summary>
    public const string TargetOption = "--to";

    /// <summary>
    /// The <c>ServiceState</c> key that records, for every node sharing the database, that the audit rows written
    /// before the audit MAC have been sealed: what <c>&lt;data&gt;/audit-mac-sealed</c> records for one node.
    /// </summary>
    public const string AuditSealedStateKey = AuditSealing.MarkerStateKey;

    /// <summary>The audit action of the row the copy appends on the target.</summary>
    public const string CopyAuditAction = "database.copy";

    /// <summary>True when the process was started to run this command rather than the service.</summary>
    public static bool IsRequested(string[] args) => args.Length > 0 && args[0] == Name;

    /// <summary>Runs the command; returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            var summary = await CopyAsync(args, cancellationToken);
            await output.WriteAsync(summary);
            return CopyDatabaseExitCodes.Copied;
        }
        catch (DatabaseCopyException exception)
        {
            await error.WriteLineAsync($"{Name}: {OneLine(exception.Message)}");
            return exception.Failure switch
            {
                DatabaseCopyFailure.TargetNotEmpty => CopyDatabaseExitCodes.TargetNotEmpty,
                DatabaseCopyFailure.TargetUnreachable => CopyDatabaseExitCodes.TargetUnreachable,
                _ => CopyDatabaseExitCodes.Configuration,
            };
        }
        catch (CopyRefusedException exception)
        {
            await error.WriteLineAsync($"{Name}: {OneLine(exception.Message)}");
            return exception.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync($"{Name}: cancelled; the target database was left as it was (the copy is one transaction).");
            return CopyDatabaseExitCodes.Failed;
        }
        catch (Exception exception)
        {
            // Anything else the databases or the files threw mid-copy: the target's transaction rolled back. One line,
            // the exception's own message (Npgsql and SQLite messages never carry the password), no stack trace.
            await error.WriteLineAsync($"{Name}: the copy failed and was rolled back, the target is unchanged: {exception.GetType().Name}: {OneLine(exception.Message)}");
            return CopyDatabaseExitCodes.Failed;
        }
    }

    private static async Task<string> CopyAsync(string[] args, CancellationToken cancellationToken)
    {
        var (connectionString, settings) = ParseArguments(args);
        var configuration = WebApplication.CreateBuilder(new WebApplicationOptions { Args = settings, ContentRootPath = AppContext.BaseDirectory }).Configuration;
        PkiOptions options;
        try
        {
            options = configuration.GetSection(PkiOptions.Section).Get<PkiOptions>() ?? new PkiOptions();
        }
        catch (InvalidOperationException exception)
        {
            throw new CopyRefusedException(CopyDatabaseExitCodes.Configuration, $"A {PkiOptions.Section}: setting cannot be read: {exception.Message}");
        }
        var dataDirectory = options.DataDirectoryFullPath;
        if (!Directory.Exists(dataDirectory))
        {
            throw new CopyRefusedException(CopyDatabaseExitCodes.Configuration,
                $"The data directory {dataDirectory} does not exist; set --Pki:DataDirectory to the old node's data directory.");
        }

        // The keys first: a wrong passphrase or a missing CA stops the command before any database is opened.
        var passphrase = Passphrase(options);
        var store = new FileCaKeyStore(dataDirectory);
        using var hierarchy = LoadHierarchy(store, passphrase, dataDirectory);
        var caKeys = ReadCaKeys(store, passphrase, DateTime.UtcNow);
        using var macKey = PassphraseAuditMacKey.ForDeployment(passphrase, hierarchy.Root.Der);
        var sealedMarker = Path.Combine(dataDirectory, AuditSealing.MarkerFileName);
        var isSealed = File.Exists(sealedMarker);
        IReadOnlyList<ServiceStateRecord> state = isSealed
            ? [new ServiceStateRecord { Key = AuditSealedStateKey, Value = SealValue(sealedMarker), UpdatedAt = DateTime.UtcNow }]
            : [];

        await using var source = await DatabaseCopy.OpenSourceAsync(configuration, dataDirectory, cancellationToken);
        // A source whose trail does not verify would not verify on the target either: say where the fault is.
        var sourceFault = await VerifyAuditAsync(source, macKey, isSealed, cancellationToken);
        if (sourceFault is not null)
        {
            throw new CopyRefusedException(CopyDatabaseExitCodes.Configuration,
                $"The audit trail in {dataDirectory} does not verify at row {sourceFault.RowId}: {sourceFault.Reason}; nothing was copied.");
        }
        await using var target = await DatabaseCopy.OpenTargetAsync(connectionString, TargetOption, cancellationToken);
        AuditCheck check = new(0, null);
        var tables = await DatabaseCopy.CopyAsync(source, target, new DatabaseCopyAdditions(caKeys, state), async (db, token) =>
        {
            // The same verifier as GET /api/v1/audit/verify, over the rows as the target stored them (PostgreSQL keeps
            // microseconds; a finer time of an older row keeps its remaining ticks in TimeTicksBelowMicrosecond).
            if (await VerifyAuditAsync(db, macKey, isSealed, token) is { } fault)
            {
                throw new CopyRefusedException(CopyDatabaseExitCodes.Failed,
                    $"The audit trail does not verify on the target at row {fault.RowId}: {fault.Reason}; the copy was rolled back, no row was written.");
            }
            check = await LastAuditRowAsync(db, token);
            // The move itself is a security event: recorded as the next row of the same chain, with its MAC.
            var audit = new AuditTrail(db, TimeProvider.System, new HttpContextAccessor(), macKey);
            await audit.AppendAsync(new AuditEntry(AuditTrail.System, CopyAuditAction, null, Success: true,
                FormattableString.Invariant($"copied from the single-node database of {dataDirectory}; rows 1-{check.LastId} verified on this database first")), token);
            await db.SaveChangesAsync(token);
        }, cancellationToken);
        return Summary(dataDirectory, target.Description, tables, caKeys, check, isSealed);
    }

    /// <summary>
    /// <c>copy-database --to &lt;connection string&gt; [--Key=Value ...]</c> (or <c>--to=&lt;connection string&gt;</c>):
    /// the connection string, and the rest for the configuration.
    /// </summary>
    private static (string ConnectionString, string[] Settings) ParseArguments(string[] args)
    {
        string? connectionString = null;
        var settings = new List<string>();
        for (var i = 1; i < args.Length; i++)
        {
            string? value = null;
            if (args[i] == TargetOption)
            {
                if (i + 1 >= args.Length)
                {
                    throw MissingTarget();
                }
                value = args[++i];
            }
            else if (args[i].StartsWith(TargetOption + "=", StringComparison.Ordinal))
            {
                value = args[i][(TargetOption.Length + 1)..];
            }
            else
            {
                settings.Add(args[i]);
                continue;
            }
            if (connectionString is not null)
            {
                throw new CopyRefusedException(CopyDatabaseExitCodes.Configuration, $"{TargetOption} is given twice; name one target database.");
            }
            connectionString = value;
        }
        return string.IsNullOrWhiteSpace(connectionString) ? throw MissingTarget() : (connectionString, settings.ToArray());
    }

    private static CopyRefusedException MissingTarget() => new(CopyDatabaseExitCodes.Configuration,
        $"Name the target: {Name} {TargetOption} \"Host=<server>;Database=<empty database>;Username=<owner>;Password=...\", " +
        "with the old node's settings (--Pki:DataDirectory=..., --Pki:KeyPassphrase=...).");

    /// <summary>The old node's key passphrase: configured, or the one it generated into its data directory (never created here).</summary>
    private static string Passphrase(PkiOptions options)
    {
        if (!string.IsNullOrEmpty(options.KeyPassphrase))
        {
            return options.KeyPassphrase;
        }
        var path = Path.Combine(options.DataDirectoryFullPath, CaKeyPassphrase.FileName);
        if (File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } generated)
        {
            return generated;
        }
        throw new CopyRefusedException(CopyDatabaseExitCodes.Configuration,
            $"Pki:KeyPassphrase is not set and {path} does not exist; set --Pki:KeyPassphrase to the passphrase the old node's CA keys are encrypted with.");
    }

    private static CaHierarchy LoadHierarchy(FileCaKeyStore store, string passphrase, string dataDirectory)
    {
        CaHierarchy? hierarchy;
        try
        {
            hierarchy = CaHierarchy.LoadExisting(new FileCaKeyProvider(store, passphrase), NullLogger.Instance);
        }
        catch (CaKeyUnlockException exception)
        {
            throw new CopyRefusedException(CopyDatabaseExitCodes.Configuration, exception.Message);
        }
        catch (Exception exception) when (exception is InvalidDataException or FormatException or ArgumentException or IOException)
        {
            throw new CopyRefusedException(CopyDatabaseExitCodes.Configuration, $"The CA files in {dataDirectory} cannot be read: {exception.Message}");
        }
        return hierarchy ?? throw new CopyRefusedException(CopyDatabaseExitCodes.Configuration,
            $"There is no CA in {dataDirectory} ({CaHierarchy.RootName}.crt/.key and {CaHierarchy.IssuingName}.crt/.key); " +
            "set --Pki:DataDirectory to the old node's data directory.");
    }

    /// <summary>
    /// The CA certificates and encrypted keys, and the OCSP responder certificates and keys when present, as the
    /// files hold them (the same DER bytes; the keys stay encrypted). Each responder key is decrypted once to show the
    /// passphrase opens it too. The mTLS listener's certificate is not among them: it names one node's host.
    /// </summary>
    private static List<CaKeyRecord> ReadCaKeys(FileCaKeyStore store, string passphrase, DateTime now)
    {
        var records = new List<CaKeyRecord>();
        foreach (var name in new[] { CaHierarchy.RootName, CaHierarchy.IssuingName })
        {
            store.TryLoad(name, out var certificate, out var key);
            records.Add(new CaKeyRecord { Name = name, CertificateDer = certificate, EncryptedPrivateKey = key, UpdatedAt = now });
        }
        foreach (var name in new[] { OcspResponderCertificate.StoreName(CaHierarchy.RootName), OcspResponderCertificate.StoreName(CaHierarchy.IssuingName) })
        {
            if (!store.TryLoad(name, out var certificate, out var key))
            {
                continue;
            }
            try
            {
                new FileCaKeyProvider(store, passphrase).TryLoad(name)?.Key.Dispose();
            }
            catch (CaKeyUnlockException exception)
            {
                throw new CopyRefusedException(CopyDatabaseExitCodes.Configuration, $"{name}: {exception.Message}");
            }
            records.Add(new CaKeyRecord { Name = name, CertificateDer = certificate, EncryptedPrivateKey = key, UpdatedAt = now });
        }
        return records;
    }

    /// <summary>
    /// The marker file's first line (the sentence a node on a shared database writes into the row itself); the rest of
    /// the file tells how to use the file, which does not apply to the row.
    /// </summary>
    private static string SealValue(string markerPath) =>
        File.ReadLines(markerPath).Select(line => line.Trim()).FirstOrDefault(line => line.Length > 0) ?? "1";

    /// <summary>
    /// Verifies the whole audit trail in <paramref name="db"/> with <see cref="AuditChainVerifier"/>, as
    /// <c>GET /api/v1/audit/verify</c> does; rows without a MAC are accepted as a leading run only while the trail has
    /// not been sealed (the first node to start seals them, as a single node would).
    /// </summary>
    /// <returns>The first fault, or null when the trail verifies.</returns>
    private static async Task<AuditChainFault?> VerifyAuditAsync(PkiDbContext db, IAuditMacKey key, bool isSealed, CancellationToken cancellationToken)
    {
        var verifier = new AuditChainVerifier(key);
        await foreach (var row in db.AuditEvents.AsNoTracking().OrderBy(a => a.Id).AsAsyncEnumerable().WithCancellation(cancellationToken))
        {
            if (verifier.Next(row.ToAuditRow(), allowUnsealedPrefix: !isSealed) is { } fault)
            {
                return fault;
            }
        }
        return null;
    }

    private static async Task<AuditCheck> LastAuditRowAsync(PkiDbContext db, CancellationToken cancellationToken)
    {
        var last = await db.AuditEvents.AsNoTracking().OrderByDescending(a => a.Id).Select(a => new { a.Id, a.Hash }).FirstOrDefaultAsync(cancellationToken);
        return last is null ? new AuditCheck(0, null) : new AuditCheck(last.Id, Convert.ToHexStringLower(last.Hash));
    }

    private static string Summary(string dataDirectory, string target, IReadOnlyList<CopiedTable> tables, List<CaKeyRecord> caKeys, AuditCheck audit, bool isSealed)
    {
        var text = new System.Text.StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Copied {dataDirectory} into {target} (one transaction):\n");
        foreach (var table in tables)
        {
            text.Append(CultureInfo.InvariantCulture, $"  {table.Table,-20} {table.Rows,9}\n");
        }
        text.Append(CultureInfo.InvariantCulture, $"CA keys: {string.Join(", ", caKeys.Select(k => k.Name))} (still encrypted under Pki:KeyPassphrase).\n");
        text.Append(audit.LastId == 0
            ? "Audit trail: empty.\n"
            : FormattableString.Invariant($"Audit trail verified on the target: rows 1-{audit.LastId}, last hash {audit.LastHash}{(isSealed ? "" : " (rows without a MAC are sealed by the first node to start)")}.\n"));
        text.Append(CultureInfo.InvariantCulture, $"Audit row {audit.LastId + 1} records the copy ({CopyAuditAction}).\n");
        text.Append("Not copied: admin-api-key (the hashed API keys are), the mTLS listener certificate (each node issues its own), the published CRLs (the first node publishes new ones, numbered above the last).\n");
        text.Append("Next: start the nodes with --Database:Provider=Postgres, ConnectionStrings:Pki naming this database, and the same Pki:KeyPassphrase.\n");
        return text.ToString();
    }

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries));

    private sealed record AuditCheck(long LastId, string? LastHash);

    /// <summary>The command stops with one line and an exit code.</summary>
    private sealed class CopyRefusedException(int exitCode, string message) : Exception(message)
    {
        public int ExitCode { get; } = exitCode;
    }
}

/// <summary>The exit codes of <c>copy-database</c>.</summary>
public static class CopyDatabaseExitCodes
{
    /// <summary>Everything was copied and the audit trail verifies on the target.</summary>
    public const int Copied = 0;

    /// <summary>
    /// The command or the old node's configuration is unusable: no or a malformed <c>--to</c>, no data directory, no
    /// database or no CA in it, a passphrase that does not decrypt the CA keys, an audit trail that does not verify at
    /// the source. Nothing was written.
    /// </summary>
    public const int Configuration = 1;

    /// <summary>The target database holds rows already. Nothing was written.</summary>
    public const int TargetNotEmpty = 2;

    /// <summary>The target server cannot be reached, refuses the login, or refuses the schema. Nothing was copied.</summary>
    public const int TargetUnreachable = 3;

    /// <summary>The copy failed midway (or the audit trail did not verify on the target) and was rolled back: the target has no rows.</summary>
    public const int Failed = 4;
}
