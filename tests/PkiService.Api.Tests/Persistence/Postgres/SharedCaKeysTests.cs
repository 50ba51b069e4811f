using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using PkiService.Api.Features.Ocsp;
using PkiService.Api.Infrastructure;
using PkiService.Api.Tests.Support;
using PkiService.Core.Authorities;

namespace PkiService.Api.Tests.Persistence.Postgres;

/// <summary>
/// Nodes with data directories of their own on ONE PostgreSQL database: the CA hierarchy and the OCSP responder
/// certificates live in the database (encrypted PKCS#8 under Pki:KeyPassphrase), are created once by whichever node
/// gets the lock first, and every node uses the same ones. A node's data directory holds none of them.
/// </summary>
public sealed class SharedCaKeysTests
{
    private static readonly string[] StoreNames = ["issuing-ca", "issuing-ca-ocsp", "root-ca", "root-ca-ocsp"];

    [SkippableFact]
    public async Task Start_ThreeNodesAtOnceOnAnEmptyDatabase_OneHierarchyAndOneResponderPairKeptEncryptedInTheDatabase()
    {
        var firstDirectory = TempDirectory.Create();
        using var first = new PkiApiFactory(firstDirectory, database: TestDatabase.Postgres);
        using var second = new PkiApiFactory(database: TestDatabase.Postgres, databaseOf: firstDirectory);
        using var third = new PkiApiFactory(database: TestDatabase.Postgres, databaseOf: firstDirectory);
        PkiApiFactory[] nodes = [first, second, third];

        await Task.WhenAll(nodes.Select(node => Task.Run(() => node.Services)));

        var hierarchies = nodes.Select(n => n.Services.GetRequiredService<CaHierarchy>()).ToList();
        var responders = nodes.Select(n => n.Services.GetRequiredService<OcspResponderSet>()).ToList();
        Assert.Single(hierarchies.Select(h => h.Root.Fingerprint).Distinct());
        Assert.Single(hierarchies.Select(h => h.Issuing.Fingerprint).Distinct());
        Assert.Single(responders.Select(r => Convert.ToHexString(r.IssuingResponder.Der)).Distinct());
        Assert.Single(responders.Select(r => Convert.ToHexString(r.RootResponder!.Der)).Distinct());

        var rows = await CaKeyRowsAsync(first);
        Assert.Equal(StoreNames, rows.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(hierarchies[0].Root.Der, rows["root-ca"].Certificate);
        Assert.Equal(hierarchies[0].Issuing.Der, rows["issuing-ca"].Certificate);
        Assert.Equal(responders[0].IssuingResponder.Der, rows["issuing-ca-ocsp"].Certificate);
        Assert.Equal(responders[0].RootResponder!.Der, rows["root-ca-ocsp"].Certificate);
        foreach (var (name, (certificateDer, key)) in rows)
        {
            AssertEncryptedKeyOf(name, certificateDer, key);
        }
        foreach (var node in nodes)
        {
            Assert.Empty(Directory.GetFiles(node.DataDirectory, "*.key"));
            Assert.Empty(Directory.GetFiles(node.DataDirectory, "*.crt"));
            Assert.False(File.Exists(Path.Combine(node.DataDirectory, CaKeyPassphrase.FileName)));
        }
    }

    [SkippableFact]
    public async Task Start_SecondNodeWithAnotherPassphrase_StopsWithOneLineNamingTheSetting_AndChangesNoKey()
    {
        using var first = new PkiApiFactory(database: TestDatabase.Postgres);
        _ = first.Services;
        var before = await CaKeyRowsAsync(first);

        using var second = new PkiApiFactory(settings: new Dictionary<string, string?> { ["Pki:KeyPassphrase"] = "not the passphrase" },
            database: TestDatabase.Postgres, databaseOf: first.DataDirectory);
        var error = Assert.ThrowsAny<Exception>(() => second.Services);

        var refusal = FindInChain<StartupConfigurationException>(error);
        Assert.Contains("Pki:KeyPassphrase", refusal.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refusal.Message);
        Assert.IsType<CaKeyUnlockException>(refusal.InnerException);
        var after = await CaKeyRowsAsync(first);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        Assert.All(before, row => Assert.Equal(row.Value.Key, after[row.Key].Key));
        Assert.Empty(Directory.GetFiles(second.DataDirectory, "*.key"));
    }

    [SkippableFact]
    public void Start_SharedDatabaseWithoutAPassphrase_StopsWithOneLineNamingTheSetting_AndWritesNoPassphraseFile()
    {
        using var node = new PkiApiFactory(settings: new Dictionary<string, string?> { ["Pki:KeyPassphrase"] = "" }, database: TestDatabase.Postgres);

        var error = Assert.ThrowsAny<Exception>(() => node.Services);

        var refusal = FindInChain<StartupConfigurationException>(error);
        Assert.StartsWith("Pki:KeyPassphrase is not set", refusal.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refusal.Message);
        Assert.False(File.Exists(Path.Combine(node.DataDirectory, CaKeyPassphrase.FileName)));
    }

    [SkippableFact]
    public async Task RenewIfDue_TwoNodesFindTheResponderDueAtOnce_RenewItOnce_AndBothSignWithTheNewOne()
    {
        var clock = new AdjustableTimeProvider(DateTimeOffset.UtcNow);
        using var first = new PkiApiFactory(timeProvider: clock, database: TestDatabase.Postgres);
        _ = first.Services;
        using var second = new PkiApiFactory(timeProvider: clock, database: TestDatabase.Postgres, databaseOf: first.DataDirectory);
        var a = first.Services.GetRequiredService<OcspResponderSet>();
        var b = second.Services.GetRequiredService<OcspResponderSet>();
        var old = a.IssuingResponder.Der;
        Assert.Equal(old, b.IssuingResponder.Der);

        clock.Advance(TimeSpan.FromDays(21)); // a 30-day responder is renewed once less than a third of its life is left
        var renewed = await Task.WhenAll(Task.Run(a.RenewIfDue), Task.Run(b.RenewIfDue));

        Assert.Equal([true, true], renewed);
        Assert.NotEqual(old, a.IssuingResponder.Der);
        Assert.Equal(a.IssuingResponder.Der, b.IssuingResponder.Der);
        Assert.Equal(a.RootResponder!.Der, b.RootResponder!.Der);
        var rows = await CaKeyRowsAsync(first);
        Assert.Equal(a.IssuingResponder.Der, rows["issuing-ca-ocsp"].Certificate);
        Assert.Equal(a.RootResponder!.Der, rows["root-ca-ocsp"].Certificate);
        Assert.False(b.RenewIfDue());
    }

    [SkippableFact]
    public void RenewIfDue_AnotherNodeRenewedTheResponder_ThisNodeAdoptsItAtItsNextCheck()
    {
        var renewingClock = new AdjustableTimeProvider(DateTimeOffset.UtcNow);
        using var renewing = new PkiApiFactory(timeProvider: renewingClock, database: TestDatabase.Postgres);
        _ = renewing.Services;
        using var other = new PkiApiFactory(database: TestDatabase.Postgres, databaseOf: renewing.DataDirectory);
        var a = renewing.Services.GetRequiredService<OcspResponderSet>();
        var b = other.Services.GetRequiredService<OcspResponderSet>();
        var old = b.IssuingResponder.Der;

        renewingClock.Advance(TimeSpan.FromDays(21)); // only the renewing node finds its responder due
        Assert.True(a.RenewIfDue());

        Assert.True(b.RenewIfDue()); // not due by its own clock, but replaced in the database
        Assert.NotEqual(old, b.IssuingResponder.Der);
        Assert.Equal(a.IssuingResponder.Der, b.IssuingResponder.Der);
        Assert.Equal(a.RootResponder!.Der, b.RootResponder!.Der);
        Assert.False(b.RenewIfDue());
    }

    /// <summary>The key decrypts with the passphrase, belongs to the certificate, and is not plaintext PKCS#8.</summary>
    private static void AssertEncryptedKeyOf(string name, byte[] certificateDer, byte[] encryptedKey)
    {
        using var certificate = X509CertificateLoader.LoadCertificate(certificateDer);
        using AsymmetricAlgorithm key = certificate.GetECDsaPublicKey() is null ? RSA.Create() : ECDsa.Create();
        key.ImportEncryptedPkcs8PrivateKey(PkiApiFactory.Passphrase, encryptedKey, out var read);
        Assert.Equal(encryptedKey.Length, read);
        using var paired = key is RSA rsa ? certificate.CopyWithPrivateKey(rsa) : certificate.CopyWithPrivateKey((ECDsa)key);
        Assert.True(paired.HasPrivateKey, name);
        using AsymmetricAlgorithm plain = key is RSA ? RSA.Create() : ECDsa.Create();
        Assert.ThrowsAny<CryptographicException>(() => plain.ImportPkcs8PrivateKey(encryptedKey, out _));
        using AsymmetricAlgorithm wrong = key is RSA ? RSA.Create() : ECDsa.Create();
        Assert.ThrowsAny<CryptographicException>(() => wrong.ImportEncryptedPkcs8PrivateKey("not the passphrase", encryptedKey, out _));
    }

    private static async Task<Dictionary<string, (byte[] Certificate, byte[] Key)>> CaKeyRowsAsync(PkiApiFactory node)
    {
        await using var connection = new NpgsqlConnection(node.Database.Settings(node.DatabaseDirectory)["ConnectionStrings:Pki"]);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT \"Name\", \"CertificateDer\", \"EncryptedPrivateKey\" FROM \"CaKeys\"", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new Dictionary<string, (byte[], byte[])>();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0), ((byte[])reader[1], (byte[])reader[2]));
        }
        return rows;
    }

    private static T FindInChain<T>(Exception error) where T : Exception
    {
        for (Exception? current = error; current is not null; current = current.InnerException)
        {
            if (current is T found)
            {
                return found;
            }
        }
        throw new Xunit.Sdk.XunitException($"No {typeof(T).Name} in the chain: {error}");
    }
}
