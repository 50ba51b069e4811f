using Microsoft.Extensions.DependencyInjection;
using PkiService.Api.Tests.Support;
using PkiService.Persistence;

namespace PkiService.Api.Tests.Persistence.Postgres;

/// <summary>The <c>Leases</c> table on a real PostgreSQL database: one holder at a time, expiry by the database clock, generations that fence.</summary>
public sealed class DatabaseLeasesTests
{
    private const string Name = "test-lease";

    [SkippableFact]
    public async Task TryAcquire_HeldByAnother_RefusedUntilExpiryThenTakenOverWithNextGeneration()
    {
        using var factory = new PkiApiFactory(database: TestDatabase.Postgres);
        var duration = TimeSpan.FromSeconds(2);

        var first = await WithDbAsync(factory, db => DatabaseLeases.TryAcquireAsync(db, Name, "node-a", duration, CancellationToken.None));
        var refused = await WithDbAsync(factory, db => DatabaseLeases.TryAcquireAsync(db, Name, "node-b", duration, CancellationToken.None));
        var renewed = await WithDbAsync(factory, db => DatabaseLeases.TryAcquireAsync(db, Name, "node-a", duration, CancellationToken.None));

        Assert.Equal(1, first!.Generation);
        Assert.Null(refused);
        Assert.Equal(1, renewed!.Generation);
        Assert.True(renewed.ExpiresAt > first.ExpiresAt);
        var state = await WithDbAsync(factory, db => DatabaseLeases.ReadAsync(db, Name, CancellationToken.None));
        Assert.Equal("node-a", state.Holder);
        Assert.InRange(state.Remaining, TimeSpan.FromMilliseconds(1), duration);

        await Task.Delay(state.Remaining + TimeSpan.FromMilliseconds(50));
        var takenOver = await WithDbAsync(factory, db => DatabaseLeases.TryAcquireAsync(db, Name, "node-b", duration, CancellationToken.None));

        Assert.Equal(2, takenOver!.Generation);
        Assert.False(await WithDbAsync(factory, db => DatabaseLeases.IsHeldAsync(db, Name, "node-a", 1, CancellationToken.None)));
        Assert.True(await WithDbAsync(factory, db => DatabaseLeases.IsHeldAsync(db, Name, "node-b", 2, CancellationToken.None)));
        Assert.Null(await WithDbAsync(factory, db => DatabaseLeases.TryAcquireAsync(db, Name, "node-a", duration, CancellationToken.None)));
    }

    [SkippableFact]
    public async Task Release_ByHolder_AnotherNodeTakesItAtOnce()
    {
        using var factory = new PkiApiFactory(database: TestDatabase.Postgres);
        var hour = TimeSpan.FromHours(1);
        var held = await WithDbAsync(factory, db => DatabaseLeases.TryAcquireAsync(db, Name, "node-a", hour, CancellationToken.None));

        Assert.False(await WithDbAsync(factory, db => DatabaseLeases.ReleaseAsync(db, Name, "node-b", held!.Generation, CancellationToken.None)));
        Assert.Null(await WithDbAsync(factory, db => DatabaseLeases.TryAcquireAsync(db, Name, "node-b", hour, CancellationToken.None)));
        Assert.True(await WithDbAsync(factory, db => DatabaseLeases.ReleaseAsync(db, Name, "node-a", held!.Generation, CancellationToken.None)));
        var next = await WithDbAsync(factory, db => DatabaseLeases.TryAcquireAsync(db, Name, "node-b", hour, CancellationToken.None));

        Assert.Equal(held!.Generation + 1, next!.Generation);
    }

    private static async Task<T> WithDbAsync<T>(PkiApiFactory factory, Func<PkiDbContext, Task<T>> action)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        return await action(scope.ServiceProvider.GetRequiredService<PkiDbContext>());
    }
}
