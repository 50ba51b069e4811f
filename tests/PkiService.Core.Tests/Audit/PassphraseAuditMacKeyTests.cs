using System.Security.Cryptography;
using System.Text;
using PkiService.Core.Audit;

namespace PkiService.Core.Tests.Audit;

public sealed class PassphraseAuditMacKeyTests
{
    private static readonly byte[] Salt = SHA256.HashData("a root CA certificate"u8);
    private static readonly byte[] RowHash = SHA256.HashData("a row"u8);

    [Fact]
    public void ComputeMac_IsHmacSha256UnderPbkdf2ThenHkdfOfThePassphrase()
    {
        // The derivation is part of every stored MAC: pin it, computed here step by step from the documented definition.
        var stretched = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes("correct horse"), Salt, 210_000, HashAlgorithmName.SHA256, 32);
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, stretched, 32, Salt, Encoding.ASCII.GetBytes("PkiService audit row MAC v1"));
        using var macKey = new PassphraseAuditMacKey("correct horse", Salt);

        Assert.Equal(HMACSHA256.HashData(key, RowHash), macKey.ComputeMac(RowHash));
    }

    [Fact]
    public void ComputeMac_OtherPassphraseOrOtherDeployment_GivesAnotherMac()
    {
        using var key = new PassphraseAuditMacKey("correct horse", Salt);
        using var otherPassphrase = new PassphraseAuditMacKey("correct horse.", Salt);
        using var otherDeployment = PassphraseAuditMacKey.ForDeployment("correct horse", "another root CA certificate"u8);

        var mac = key.ComputeMac(RowHash);

        Assert.Equal(32, mac.Length);
        Assert.NotEqual(mac, otherPassphrase.ComputeMac(RowHash));
        Assert.NotEqual(mac, otherDeployment.ComputeMac(RowHash));
        Assert.Equal(mac, new PassphraseAuditMacKey("correct horse", Salt).ComputeMac(RowHash)); // not random: recomputed at every start
    }

    [Fact]
    public void ComputeMac_AfterDispose_Throws()
    {
        var key = new PassphraseAuditMacKey("correct horse", Salt);
        key.Dispose();

        Assert.Throws<ObjectDisposedException>(() => key.ComputeMac(RowHash));
    }
}
