using Microsoft.Extensions.Logging.Abstractions;
using PkiService.Core.Authorities;
using PkiService.Core.Tests.TestSupport;

namespace PkiService.Core.Tests.Authorities;

/// <summary><see cref="CaHierarchy.LoadExisting"/>: reads a deployment's CAs, never creates one.</summary>
public sealed class CaHierarchyLoadExistingTests(CaFixture ca) : IClassFixture<CaFixture>
{
    [Fact]
    public void LoadExisting_StoredHierarchy_LoadsBothCasWithTheirKeys()
    {
        using var loaded = CaHierarchy.LoadExisting(new FileCaKeyProvider(ca.Store, CaFixture.Passphrase, 1_000), NullLogger.Instance);

        Assert.NotNull(loaded);
        Assert.Equal(ca.Root.Der, loaded.Root.Der);
        Assert.Equal(ca.Issuing.Der, loaded.Issuing.Der);
        Assert.Empty(loaded.Created);
    }

    [Fact]
    public void LoadExisting_EmptyStore_ReturnsNullAndCreatesNothing()
    {
        var store = new InMemoryCaKeyStore();

        Assert.Null(CaHierarchy.LoadExisting(new FileCaKeyProvider(store, CaFixture.Passphrase, 1_000), NullLogger.Instance));

        Assert.False(store.TryLoad(CaHierarchy.RootName, out _, out _));
        Assert.False(store.TryLoad(CaHierarchy.IssuingName, out _, out _));
    }

    [Fact]
    public void LoadExisting_IssuingCaMissing_ReturnsNullAndCreatesNothing()
    {
        var store = new InMemoryCaKeyStore();
        Assert.True(ca.Store.TryLoad(CaHierarchy.RootName, out var certificate, out var key));
        store.Save(CaHierarchy.RootName, certificate, key);

        Assert.Null(CaHierarchy.LoadExisting(new FileCaKeyProvider(store, CaFixture.Passphrase, 1_000), NullLogger.Instance));

        Assert.False(store.TryLoad(CaHierarchy.IssuingName, out _, out _));
    }

    [Fact]
    public void LoadExisting_WrongPassphrase_ThrowsCaKeyUnlockException()
    {
        var error = Assert.Throws<CaKeyUnlockException>(() => CaHierarchy.LoadExisting(new FileCaKeyProvider(ca.Store, "not the passphrase", 1_000), NullLogger.Instance));

        Assert.Contains("Pki:KeyPassphrase", error.Message, StringComparison.Ordinal);
    }
}
