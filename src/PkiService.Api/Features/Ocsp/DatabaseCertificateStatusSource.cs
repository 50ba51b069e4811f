using Microsoft.EntityFrameworkCore;
using PkiService.Api.Revocation;
using PkiService.Core.Authorities;
using PkiService.Core.Ocsp;
using PkiService.Core.Primitives;
using PkiService.Core.Revocation;
using PkiService.Persistence;

namespace PkiService.Api.Features.Ocsp;

/// <summary>
/// Certificate statuses from the database, keyed by (issuer, serial). The root has issued only the issuing CA,
/// which this service does not revoke; any other serial under the root is unknown. Good and revoked statuses are
/// kept in <see cref="OcspResponseCache"/> (dropped when the certificate is revoked), so responses signed per request
/// (nonces) do not query the database each time.
/// </summary>
public sealed class DatabaseCertificateStatusSource(IServiceScopeFactory scopes, CaHierarchy hierarchy, OcspResponseCache cache) : ICertificateStatusSource
{
    private readonly SerialNumber _issuingCaSerial = SerialNumber.FromBouncyCastle(hierarchy.Issuing.Certificate.SerialNumber);

    public async ValueTask<RevocationStatus> GetStatusAsync(string issuerFingerprint, SerialNumber serialNumber, CancellationToken cancellationToken)
    {
        if (issuerFingerprint == hierarchy.Root.Fingerprint)
        {
            return serialNumber == _issuingCaSerial ? RevocationStatus.Good : RevocationStatus.Unknown;
        }
        if (cache.TryGetStatus(issuerFingerprint, serialNumber, out var known))
        {
            return known; // invalidated the moment the certificate is revoked
        }
        var generation = cache.Generation;
        var status = await ReadAsync(issuerFingerprint, serialNumber, cancellationToken);
        cache.AddStatus(issuerFingerprint, serialNumber, status, generation);
        return status;
    }

    private async Task<RevocationStatus> ReadAsync(string issuerFingerprint, SerialNumber serialNumber, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();
        var row = await db.Certificates.AsNoTracking()
            .Where(c => c.SerialNumber == serialNumber.Hex && c.IssuerFingerprint == issuerFingerprint)
            .Select(CertificateRevocationRow.Columns)
            .FirstOrDefaultAsync(cancellationToken);
        return CertificateRevocationRow.StatusOf(row); // RFC 6960 2.2: "unknown" for a serial this CA never issued
    }
}
