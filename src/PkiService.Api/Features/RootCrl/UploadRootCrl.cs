using Mediator;
using PkiService.Api.Audit;
using PkiService.Api.Features.Crl;
using PkiService.Core.Authorities;
using PkiService.Core.Errors;
using PkiService.Core.Revocation;
using PkiService.Persistence;

namespace PkiService.Api.Features.RootCrl;

/// <summary>
/// An admin uploads the CRL an external (offline) root signed: DER or PEM. It is checked against the root (issuer name
/// and signature, RFC 5280 6.3.3), stored in <c>PublishedCrls</c> (the shared database, so every node serves it) and
/// served from now on by <c>/pki/root.crl</c> and the CRL bundle.
/// </summary>
public sealed record UploadRootCrl(byte[] Body) : ICommand<RootCrlView>;

/// <summary>The root CRL now served.</summary>
public sealed record RootCrlView(string CrlNumber, DateTimeOffset ThisUpdate, DateTimeOffset NextUpdate, int EntryCount);

public sealed partial class UploadRootCrlHandler(
    CaHierarchy hierarchy, PkiDbContext db, IPkiDatabase database, CrlPublisher publisher, AuditTrail audit, TimeProvider time, ILogger<UploadRootCrlHandler> logger)
    : ICommandHandler<UploadRootCrl, RootCrlView>
{
    public async ValueTask<RootCrlView> Handle(UploadRootCrl command, CancellationToken cancellationToken)
    {
        if (!hierarchy.IsRootExternal)
        {
            throw new ConflictException("This service holds its root's key and signs the root CRL itself; an uploaded root CRL is only for an external (offline) root.");
        }
        var der = Der(command.Body);
        var crl = PublishedCrlTable.Parse(der, hierarchy.Root) ?? throw new InvalidRequestException(
            $"The body is not a complete CRL signed by the root {hierarchy.Root.Subject} (SHA-256 {hierarchy.Root.Fingerprint}) with a nextUpdate; "
            + "sign it with the root's key (openssl ca -gencrl) and send it as DER (application/pkix-crl) or PEM.");
        if (crl.NextUpdate <= time.GetUtcNow())
        {
            throw new InvalidRequestException($"The root CRL's nextUpdate {crl.NextUpdate:O} has passed; issue a fresh one with the root's key.");
        }
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (await PublishedCrlTable.ReadRootAsync(db, hierarchy, cancellationToken) is { } stored && stored.CrlNumber > crl.CrlNumber)
        {
            // RFC 5280 5.2.3: CRL numbers increase; a relying party must not be handed an older CRL after a newer one.
            throw new ConflictException($"Root CRL {stored.CrlNumber} is served already and this one is number {crl.CrlNumber}; upload a CRL numbered {stored.CrlNumber} or higher.");
        }
        await PublishedCrlTable.StoreRootAsync(db, hierarchy, crl, cancellationToken);
        await audit.AppendAsync(new AuditEntry(audit.CurrentApiKeyActor, "crl.root-upload", crl.CrlNumber.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Success: true, $"{crl.EntryCount} entries, nextUpdate {crl.NextUpdate:O}"), cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        // Every other node serves it within a moment (and picks it up at its next poll if the announcement is missed).
        await database.NotifyAsync(db, PublishedCrlTable.Channel, CrlPublisher.RootUploadPayload(crl.CrlNumber), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await publisher.ServeUploadedRootAsync(crl, cancellationToken);
        LogUploaded(logger, crl.CrlNumber.ToString(System.Globalization.CultureInfo.InvariantCulture), crl.EntryCount, crl.NextUpdate);
        return new RootCrlView(crl.CrlNumber.ToString("X", System.Globalization.CultureInfo.InvariantCulture), crl.ThisUpdate, crl.NextUpdate, crl.EntryCount);
    }

    /// <summary>The CRL's DER: the body as it is, or the content of its PEM "X509 CRL" block (RFC 7468 5).</summary>
    private static byte[] Der(byte[] body)
    {
        var text = System.Text.Encoding.ASCII.GetString(body);
        if (!text.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            return body;
        }
        if (!System.Security.Cryptography.PemEncoding.TryFind(text, out var fields) || text[fields.Label] != SignedCrl.PemLabel)
        {
            throw new InvalidRequestException($"The PEM body holds no '{SignedCrl.PemLabel}' block; send the root CRL as PEM or DER.");
        }
        return Convert.FromBase64String(text[fields.Base64Data]);
    }

    [LoggerMessage(EventId = 2901, EventName = "RootCrlUploaded", Level = LogLevel.Warning,
        Message = "An admin uploaded root CRL {CrlNumber} with {EntryCount} entries; nextUpdate {NextUpdate:O}")]
    private static partial void LogUploaded(ILogger logger, string crlNumber, int entryCount, DateTimeOffset nextUpdate);
}
