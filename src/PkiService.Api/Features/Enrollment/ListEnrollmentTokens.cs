using Mediator;
using Microsoft.EntityFrameworkCore;
using PkiService.Core.Errors;
using PkiService.Persistence;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Features.Enrollment;

/// <summary>A page of enrollment tokens.</summary>
/// <param name="Items">Newest first.</param>
/// <param name="Total">How many match in all.</param>
public sealed record EnrollmentTokenPage(IReadOnlyList<EnrollmentTokenView> Items, int Total);

/// <summary>Lists enrollment tokens, optionally by status (unused, used, expired, revoked).</summary>
public sealed record ListEnrollmentTokens(string? Status, int Page, int PageSize) : IQuery<EnrollmentTokenPage>;

public sealed class ListEnrollmentTokensHandler(PkiDbContext db, TimeProvider time) : IQueryHandler<ListEnrollmentTokens, EnrollmentTokenPage>
{
    public async ValueTask<EnrollmentTokenPage> Handle(ListEnrollmentTokens query, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        IQueryable<EnrollmentTokenRecord> tokens = db.EnrollmentTokens.AsNoTracking();
        if (Enum.TryParse<EnrollmentTokenState>(query.Status, ignoreCase: true, out var state) && Enum.IsDefined(state))
        {
            tokens = tokens.Where(EnrollmentTokenRecord.InState(state, now));
        }
        var total = await tokens.CountAsync(cancellationToken);
        var page = await tokens.OrderByDescending(t => t.CreatedAt).Skip((query.Page - 1) * query.PageSize).Take(query.PageSize).ToListAsync(cancellationToken);
        return new EnrollmentTokenPage(page.Select(t => EnrollmentTokenView.From(t, now)).ToList(), total);
    }
}

/// <summary>Reads one enrollment token by id.</summary>
public sealed record GetEnrollmentToken(string Id) : IQuery<EnrollmentTokenView>;

public sealed class GetEnrollmentTokenHandler(PkiDbContext db, TimeProvider time) : IQueryHandler<GetEnrollmentToken, EnrollmentTokenView>
{
    public async ValueTask<EnrollmentTokenView> Handle(GetEnrollmentToken query, CancellationToken cancellationToken)
    {
        var token = await db.EnrollmentTokens.AsNoTracking().FirstOrDefaultAsync(t => t.Id == query.Id, cancellationToken)
            ?? throw new NotFoundException($"No enrollment token with id '{query.Id}'; GET /api/v1/enrollment-tokens lists them.");
        return EnrollmentTokenView.From(token, time.GetUtcNow().UtcDateTime);
    }
}
