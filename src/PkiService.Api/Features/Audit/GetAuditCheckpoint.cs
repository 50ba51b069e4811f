using Mediator;
using Microsoft.EntityFrameworkCore;
using PkiService.Api.Audit;
using PkiService.Core.Audit;
using PkiService.Core.Authorities;
using PkiService.Core.Errors;
using PkiService.Persistence;

namespace PkiService.Api.Features.Audit;

/// <summary>A signed statement of the newest audit row, to keep outside this service.</summary>
/// <param name="Id">The newest row's id.</param>
/// <param name="Hash">That row's hex chain hash.</param>
/// <param name="Time">When the checkpoint was signed.</param>
/// <param name="Issuer">The signing CA (the issuing CA).</param>
/// <param name="SignedData">Base64 of the exact bytes signed: compact JSON {format, id, hash, time, issuer, issuerSha256}.</param>
/// <param name="Signature">Base64 signature over the decoded signedData (DER ECDSA-Sig-Value, or PKCS#1 v1.5 for RSA).</param>
/// <param name="SignatureAlgorithm">e.g. ecdsa-with-SHA256.</param>
/// <param name="Digest">The digest option for openssl dgst: sha256, sha384 or sha512.</param>
/// <param name="SignerCertificate">PEM of the signing CA's certificate (compare it with /pki/ca.pem you trust, not with this field).</param>
public sealed record AuditCheckpointView(
    long Id, string Hash, DateTimeOffset Time, string Issuer, string SignedData, string Signature, string SignatureAlgorithm, string Digest, string SignerCertificate);

/// <summary>Signs a checkpoint of the newest audit row with the issuing CA.</summary>
public sealed record GetAuditCheckpoint : IQuery<AuditCheckpointView>;

public sealed class GetAuditCheckpointHandler(PkiDbContext db, IAuditMacKey macKey, CaHierarchy hierarchy, TimeProvider time)
    : IQueryHandler<GetAuditCheckpoint, AuditCheckpointView>
{
    public async ValueTask<AuditCheckpointView> Handle(GetAuditCheckpoint query, CancellationToken cancellationToken)
    {
        var newest = await db.AuditEvents.AsNoTracking().OrderByDescending(a => a.Id).FirstOrDefaultAsync(cancellationToken)
            ?? throw new ConflictException("The audit trail is empty: there is no row to checkpoint yet.");
        // Never vouch for a row the service did not write: its content must match its hash and its MAC must verify.
        if (new AuditChainVerifier(macKey).Authenticate(newest.ToAuditRow()) is { } fault)
        {
            throw new ConflictException(
                $"The newest audit row ({fault.RowId}) does not verify: {fault.Reason}. Run GET /api/v1/audit/verify; no checkpoint is signed for it.");
        }
        var signed = AuditCheckpoints.Sign(newest.Id, newest.Hash, time.GetUtcNow(), hierarchy.Issuing);
        return new AuditCheckpointView(
            signed.Statement.Id,
            Convert.ToHexStringLower(signed.Statement.Hash),
            signed.Statement.Time,
            signed.Statement.Issuer,
            Convert.ToBase64String(signed.SignedData),
            Convert.ToBase64String(signed.Signature),
            signed.SignatureAlgorithm,
            signed.Digest,
            signed.SignerCertificatePem);
    }
}
