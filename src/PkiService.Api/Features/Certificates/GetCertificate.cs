using Mediator;
using Microsoft.EntityFrameworkCore;
using PkiService.Core.Errors;
using PkiService.Core.Primitives;
using PkiService.Persistence;

namespace PkiService.Api.Features.Certificates;

/// <summary>Reads one certificate by serial number (hexadecimal, any case, colons allowed).</summary>
public sealed record GetCertificate(string Serial) : IQuery<CertificateView>;

public sealed class GetCertificateHandler(PkiDbContext db, TimeProvider time) : IQueryHandler<GetCertificate, CertificateView>
{
    public async ValueTask<CertificateView> Handle(GetCertificate query, CancellationToken cancellationToken)
    {
        var serial = SerialNumber.Parse(query.Serial);
        var record = await db.Certificates.AsNoTracking().FirstOrDefaultAsync(c => c.SerialNumber == serial.Hex, cancellationToken)
            ?? throw new NotFoundException($"No certificate with serial number {serial.Hex} was issued by this service.");
        return CertificateView.From(record, time.GetUtcNow().UtcDateTime);
    }
}
