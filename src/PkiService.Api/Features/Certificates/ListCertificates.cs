using Mediator;
using Microsoft.EntityFrameworkCore;
using PkiService.Core.Primitives;
using PkiService.Persistence;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Features.Certificates;

/// <summary>One page of certificates and the total that match.</summary>
/// <param name="Items">The certificates on this page, newest first.</param>
/// <param name="Total">How many certificates match the filter in all.</param>
public sealed record CertificatePage(IReadOnlyList<CertificateView> Items, int Total);

/// <summary>Lists certificates, optionally by status and by how soon they expire.</summary>
public sealed record ListCertificates(string? Status, string? ExpiringWithin, int Page, int PageSize) : IQuery<CertificatePage>;

public sealed class ListCertificatesHandler(PkiDbContext db, TimeProvider time) : IQueryHandler<ListCertificates, CertificatePage>
{
    public async ValueTask<CertificatePage> Handle(ListCertificates query, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        IQueryable<CertificateRecord> certificates = db.Certificates.AsNoTracking();
        certificates = query.Status switch
        {
            CertificateStatusFilter.Active => certificates.Where(c => c.Status == CertificateStatus.Active && c.NotAfter > now),
            CertificateStatusFilter.Revoked => certificates.Where(c => c.Status == CertificateStatus.Revoked),
            CertificateStatusFilter.Expired => certificates.Where(c => c.Status == CertificateStatus.Active && c.NotAfter <= now),
            CertificateStatusFilter.Superseded => certificates.Where(c => c.Status == CertificateStatus.Superseded),
            _ => certificates,
        };
        if (query.ExpiringWithin is not null && IsoDuration.TryParse(query.ExpiringWithin, out var within))
        {
            var horizon = now + within;
            certificates = certificates.Where(c => c.Status == CertificateStatus.Active && c.NotAfter > now && c.NotAfter <= horizon);
        }

        var total = await certificates.CountAsync(cancellationToken);
        var page = await certificates
            .OrderByDescending(c => c.Id)
            .Skip((query.Page - 1) * query.PageSize)
            .Take(query.PageSize)
            .ToListAsync(cancellationToken);
        return new CertificatePage(page.Select(c => CertificateView.From(c, now)).ToList(), total);
    }
}
