using Microsoft.Extensions.Options;
using PkiService.Api.Features.Ocsp;
using PkiService.Api.Revocation;
using PkiService.Api.Tests.Support;
using PkiService.Core.Primitives;
using PkiService.Core.Revocation;
using PkiService.Persistence.Postgres;
using PkiService.Persistence.Sqlite;

namespace PkiService.Api.Tests.Revocation;

/// <summary>
/// The one switch the OCSP cache consults before answering from what it holds (issue #11): off from the start on a
/// shared database, off at once when the listening connection is lost (and the cache emptied), on again only through a
/// catch-up that no newer loss overtook, and nothing read before the catch-up survives it.
/// </summary>
public sealed class StatusCacheTrustTests
{
    private const string Issuer = "AB";
    private static readonly SerialNumber Serial = SerialNumber.Parse("0A1B2C");

    [Fact]
    public void Start_SharedDatabaseIsNotTrustedUntilListening_SqliteIsTrusted()
    {
        Assert.False(new StatusCacheTrust(new PostgresPkiDatabase("Host=127.0.0.1;Database=pki")).IsTrusted);
        Assert.True(new StatusCacheTrust(new SqlitePkiDatabase(TempDirectory.Create())).IsTrusted);
    }

    [Fact]
    public void NotTrusted_CacheAnswersNothingAndKeepsNothing_UntilRestored()
    {
        var trust = new StatusCacheTrust(trustedAtStart: false);
        var cache = Cache(trust);

        cache.AddStatus(Issuer, Serial, RevocationStatus.Good, cache.Generation);
        Assert.False(cache.TryGetStatus(Issuer, Serial, out _));
        Assert.Equal(0, Statuses(cache));

        Assert.True(trust.TryRestore(trust.Epoch));
        cache.AddStatus(Issuer, Serial, RevocationStatus.Good, cache.Generation);
        Assert.True(cache.TryGetStatus(Issuer, Serial, out var status));
        Assert.Equal(RevocationState.Good, status.State);
    }

    [Fact]
    public void Distrust_StopsAnswersAndEmptiesTheCacheAtOnce()
    {
        var trust = new StatusCacheTrust(trustedAtStart: true);
        var cache = Cache(trust);
        cache.AddStatus(Issuer, Serial, RevocationStatus.Good, cache.Generation);
        Assert.Equal(1, Statuses(cache));

        trust.Distrust();

        Assert.False(trust.IsTrusted);
        Assert.Equal(0, Statuses(cache));
        Assert.False(cache.TryGetStatus(Issuer, Serial, out _));
    }

    /// <summary>A catch-up that began before the connection was lost again must not switch the caches back on.</summary>
    [Fact]
    public void Restore_LostAgainDuringTheCatchUp_IsRefused()
    {
        var trust = new StatusCacheTrust(trustedAtStart: false);
        var epoch = trust.Epoch;

        trust.Distrust();

        Assert.False(trust.TryRestore(epoch));
        Assert.False(trust.IsTrusted);
        Assert.True(trust.TryRestore(trust.Epoch));
    }

    /// <summary>A database read that began before the caches were trusted again (it may predate a missed revocation) is not kept.</summary>
    [Fact]
    public void Restore_ReadStartedBeforeIt_IsNotKept()
    {
        var trust = new StatusCacheTrust(trustedAtStart: false);
        var cache = Cache(trust);
        var generation = cache.Generation; // read begins while not trusted

        Assert.True(trust.TryRestore(trust.Epoch));
        cache.AddStatus(Issuer, Serial, RevocationStatus.Good, generation);

        Assert.False(cache.TryGetStatus(Issuer, Serial, out _));
        Assert.Equal(0, Statuses(cache));
    }

    private static OcspResponseCache Cache(StatusCacheTrust trust) => new(Options.Create(new OcspOptions()), trust: trust);

    private static int Statuses(OcspResponseCache cache) => cache.Usage().Single(t => t.Table == "statuses").Count;
}
