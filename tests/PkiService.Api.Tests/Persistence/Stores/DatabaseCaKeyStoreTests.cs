using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using PkiService.Api.Tests.Support;
using PkiService.Core.Authorities;
using PkiService.Persistence.Stores;

namespace PkiService.Api.Tests.Persistence.Stores;

/// <summary>The CaKeys table as an <see cref="ICaKeyStore"/>, on a real PostgreSQL database.</summary>
public sealed class DatabaseCaKeyStoreTests
{
    [SkippableFact]
    public void Save_ThenSaveAgain_TryLoadReturnsTheLatestPairBytesForBytes()
    {
        using var node = new PkiApiFactory(database: TestDatabase.Postgres);
        var store = new DatabaseCaKeyStore(node.Services.GetRequiredService<IServiceScopeFactory>(), TimeProvider.System);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var first = ProtectedEcdsaKey.Export(key, PkiApiFactory.Passphrase, iterations: 1000);
        var second = ProtectedEcdsaKey.Export(key, PkiApiFactory.Passphrase, iterations: 1000); // a fresh salt: other bytes

        Assert.False(store.TryLoad("test-key", out _, out _));
        store.Save("test-key", [1, 2, 3], first);
        store.Save("test-key", [4, 5, 6], second);

        Assert.True(store.TryLoad("test-key", out var certificateDer, out var encryptedKey));
        Assert.Equal([4, 5, 6], certificateDer);
        Assert.Equal(second, encryptedKey);
    }

    [SkippableFact]
    public void Save_PlaintextPkcs8_IsRefusedAndNothingIsStored()
    {
        using var node = new PkiApiFactory(database: TestDatabase.Postgres);
        var store = new DatabaseCaKeyStore(node.Services.GetRequiredService<IServiceScopeFactory>(), TimeProvider.System);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        Assert.Throws<ArgumentException>(() => store.Save("plain-key", [1, 2, 3], key.ExportPkcs8PrivateKey()));
        Assert.Throws<ArgumentException>(() => store.Save("plain-key", [1, 2, 3], [0x30, 0x03, 0x02, 0x01, 0x00]));

        Assert.False(store.TryLoad("plain-key", out _, out _));
    }
}
