using Mediator;
using Microsoft.EntityFrameworkCore;
using PkiService.Persistence;

namespace PkiService.Api.Features.ApiKeys;

/// <summary>Lists every API key, deleted ones included (with revokedAt), oldest first.</summary>
public sealed record ListApiKeys : IQuery<IReadOnlyList<ApiKeyView>>;

public sealed class ListApiKeysHandler(PkiDbContext db) : IQueryHandler<ListApiKeys, IReadOnlyList<ApiKeyView>>
{
    public async ValueTask<IReadOnlyList<ApiKeyView>> Handle(ListApiKeys query, CancellationToken cancellationToken) =>
        (await db.ApiKeys.AsNoTracking().OrderBy(k => k.CreatedAt).ToListAsync(cancellationToken)).Select(ApiKeyView.From).ToList();
}
