using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using PkiService.Api.Tests.Support;
using PkiService.Persistence;
using PkiService.Persistence.Sqlite;

namespace PkiService.Api.Tests.Infrastructure;

public sealed class DatabaseConnectionTests
{
    /// <summary>
    /// Contexts are pooled, and the group-commit writer turns automatic change detection off on the one it borrows.
    /// A context handed out next must have it back on, or handlers that change tracked entities would save nothing.
    /// </summary>
    [Fact]
    public void PooledContext_ComesBackWithDefaultChangeTracking()
    {
        using var factory = new PkiApiFactory();
        _ = factory.CreateClient();
        var borrowed = new HashSet<PkiDbContext>(ReferenceEqualityComparer.Instance);
        var scopes = Enumerable.Range(0, 8).Select(_ => factory.Services.CreateScope()).ToList();
        foreach (var scope in scopes)
        {
            var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();
            db.ChangeTracker.AutoDetectChangesEnabled = false;
            borrowed.Add(db);
        }
        scopes.ForEach(s => s.Dispose());

        // Background jobs may borrow some meanwhile, so check every context handed out, and that some were reused.
        var again = Enumerable.Range(0, 8).Select(_ => factory.Services.CreateScope()).ToList();
        var contexts = again.Select(s => s.ServiceProvider.GetRequiredService<PkiDbContext>()).ToList();

        Assert.All(contexts, db => Assert.True(db.ChangeTracker.AutoDetectChangesEnabled));
        Assert.Contains(contexts, borrowed.Contains);
        again.ForEach(s => s.Dispose());
    }

    /// <summary>Every connection waits in SQLite's own busy handler for a held write lock (not in 150 ms driver sleeps).</summary>
    [Fact]
    public async Task Connections_HaveSqliteBusyTimeout()
    {
        using var factory = new PkiApiFactory();
        using var scope = factory.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();

        var timeout = await db.Database.SqlQueryRaw<long>("SELECT timeout AS Value FROM pragma_busy_timeout").SingleAsync();

        Assert.Equal(SqliteDatabase.BusyTimeoutMilliseconds, timeout);
    }
}
