using System.Security.Cryptography;
using PkiService.Core.Audit;

namespace PkiService.Core.Tests.Audit;

public sealed class AuditChainVerifierTests : IDisposable
{
    private readonly PassphraseAuditMacKey _key = new("audit test passphrase", SHA256.HashData("root"u8));

    public void Dispose() => _key.Dispose();

    [Fact]
    public void Next_ChainWrittenWithTheKey_Verifies()
    {
        var verifier = new AuditChainVerifier(_key);
        var rows = Chain(5, sealedFrom: 1);

        Assert.All(rows, row => Assert.Null(verifier.Next(row)));
        Assert.Equal(5, verifier.Checked);
        Assert.Equal(rows[^1].Hash, verifier.LastHash);
    }

    [Fact]
    public void Next_ChainRecomputedAfterAnEdit_FailsOnTheEditedRowsMac()
    {
        var rows = Chain(5, sealedFrom: 1);
        // What someone with database write access and no key can do: change row 3, recompute every hash from there on.
        var forged = rows.Take(2).ToList();
        var previous = rows[1].Hash;
        foreach (var row in rows.Skip(2))
        {
            var content = row.Content.Id == 3 ? row.Content with { Details = "nothing happened" } : row.Content;
            var hash = AuditChain.Hash(previous, content);
            forged.Add(new AuditRow(content, previous, hash, row.Mac));
            previous = hash;
        }
        var verifier = new AuditChainVerifier(_key);

        var fault = forged.Select(row => verifier.Next(row)).First(f => f is not null);

        Assert.Equal(3, fault!.RowId);
        Assert.Contains("MAC does not verify", fault.Reason, StringComparison.Ordinal);
        Assert.Equal(2, verifier.Checked);
    }

    [Fact]
    public void Next_RowsWithoutMac_FailUnlessALeadingRunMayBeSealed()
    {
        var rows = Chain(4, sealedFrom: 3); // rows 1 and 2 written before the MAC

        Assert.Equal(1, new AuditChainVerifier(_key).Next(rows[0])!.RowId);
        var sealing = new AuditChainVerifier(_key);
        Assert.All(rows, row => Assert.Null(sealing.Next(row, allowUnsealedPrefix: true)));
        Assert.Equal(2, sealing.Unsealed);
    }

    [Fact]
    public void Next_MacRemovedAfterARowWithMac_IsNeverTakenForAnOldRow()
    {
        var rows = Chain(4, sealedFrom: 1);
        rows[2] = rows[2] with { Mac = null };
        var verifier = new AuditChainVerifier(_key);

        var fault = rows.Select(row => verifier.Next(row, allowUnsealedPrefix: true)).First(f => f is not null);

        Assert.Equal(3, fault!.RowId);
        Assert.Contains("no MAC", fault.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Next_MissingRow_ReportsTheFirstMissingId()
    {
        var rows = Chain(4, sealedFrom: 1);
        var verifier = new AuditChainVerifier(_key);

        Assert.Null(verifier.Next(rows[0]));
        var fault = verifier.Next(rows[2]);

        Assert.Equal(2, fault!.RowId);
        Assert.Contains("missing", fault.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Authenticate_MacOfAnotherKey_Fails()
    {
        using var other = new PassphraseAuditMacKey("another passphrase", SHA256.HashData("root"u8));
        var row = Chain(1, sealedFrom: 1)[0];

        Assert.Null(new AuditChainVerifier(_key).Authenticate(row));
        Assert.NotNull(new AuditChainVerifier(other).Authenticate(row));
    }

    private List<AuditRow> Chain(int count, int sealedFrom)
    {
        var rows = new List<AuditRow>();
        var previous = AuditChain.Genesis;
        for (var id = 1; id <= count; id++)
        {
            var content = new AuditEntryContent(id, DateTimeOffset.UnixEpoch.AddMinutes(id), "system", "test.event", $"t{id}", "success", null, $"event {id}");
            var hash = AuditChain.Hash(previous, content);
            rows.Add(new AuditRow(content, previous, hash, id >= sealedFrom ? _key.ComputeMac(hash) : null));
            previous = hash;
        }
        return rows;
    }
}
