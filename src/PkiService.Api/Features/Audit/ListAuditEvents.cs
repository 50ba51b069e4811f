using Mediator;
using Microsoft.EntityFrameworkCore;
using PkiService.Persistence;

namespace PkiService.Api.Features.Audit;

/// <summary>One audit row.</summary>
/// <param name="Id">Position in the chain, from 1.</param>
/// <param name="Time">When.</param>
/// <param name="Actor">apikey:&lt;id&gt;, token:&lt;id&gt;, certificate:&lt;serial&gt;, system or anonymous.</param>
/// <param name="Action">What, e.g. certificate.issue.</param>
/// <param name="Target">On what.</param>
/// <param name="Outcome">success or failure.</param>
/// <param name="ClientIp">The caller's address.</param>
/// <param name="Details">Short free text.</param>
/// <param name="Hash">Hex SHA-256 of the previous hash and this row.</param>
public sealed record AuditEventView(long Id, DateTimeOffset Time, string Actor, string Action, string? Target, string Outcome, string? ClientIp, string? Details, string Hash);

/// <summary>A page of audit rows.</summary>
/// <param name="Items">Newest first.</param>
/// <param name="Total">Rows in all.</param>
public sealed record AuditPage(IReadOnlyList<AuditEventView> Items, long Total);

/// <summary>Lists audit rows, newest first, optionally by action.</summary>
public sealed record ListAuditEvents(string? Action, int Page, int PageSize) : IQuery<AuditPage>;

public sealed class ListAuditEventsHandler(PkiDbContext db) : IQueryHandler<ListAuditEvents, AuditPage>
{
    public async ValueTask<AuditPage> Handle(ListAuditEvents query, CancellationToken cancellationToken)
    {
        var rows = db.AuditEvents.AsNoTracking();
        if (query.Action is not null)
        {
            rows = rows.Where(a => a.Action == query.Action);
        }
        var total = await rows.LongCountAsync(cancellationToken);
        var page = await rows.OrderByDescending(a => a.Id).Skip((query.Page - 1) * query.PageSize).Take(query.PageSize).ToListAsync(cancellationToken);
        return new AuditPage(page.Select(a => new AuditEventView(
            a.Id, new DateTimeOffset(DateTime.SpecifyKind(a.Time, DateTimeKind.Utc)), a.Actor, a.Action, a.Target, a.Outcome, a.ClientIp, a.Details,
            Convert.ToHexStringLower(a.Hash))).ToList(), total);
    }
}
