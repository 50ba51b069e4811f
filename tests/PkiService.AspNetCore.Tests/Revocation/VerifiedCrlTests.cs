using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using PkiService.AspNetCore.Identity;
using PkiService.AspNetCore.Revocation;
using PkiService.AspNetCore.Tests.Support;
using PkiService.AspNetCore.Trust;

namespace PkiService.AspNetCore.Tests.Revocation;

/// <summary>The CRL checks against PkiService's real CRLs and forgeries of them.</summary>
public sealed class VerifiedCrlTests : IAsyncLifetime
{
    private PkiServiceInstance _pki = null!;
    private PkiTrustAnchors _anchors = null!;

    public async Task InitializeAsync()
    {
        _pki = await PkiServiceInstance.StartAsync();
        _anchors = _pki.TrustAnchors();
    }

    public async Task DisposeAsync() => await _pki.DisposeAsync();

    [Fact]
    public async Task Verify_ServiceCrls_CompleteAndDeltaWithTheRevokedSerial()
    {
        using var certificate = await _pki.EnrollAsync("listed");
        await _pki.RevokeAsync(certificate);
        var serial = ClientCertificateInfo.CanonicalSerial(certificate.SerialNumberBytes.Span);

        var complete = VerifiedCrl.Verify(await GetAsync("/pki/crl"), _anchors, delta: false, maxEntries: 100);
        var delta = VerifiedCrl.Verify(await GetAsync("/pki/delta.crl"), _anchors, delta: true, maxEntries: 100);

        Assert.Contains(complete.Entries, e => e.SerialNumber == serial);
        Assert.Null(complete.BaseNumber);
        Assert.NotNull(delta.BaseNumber);
        Assert.True(complete.NextUpdate > DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task Verify_OneBitFlipped_Refused()
    {
        var der = await GetAsync("/pki/crl");
        der[^3] ^= 0x01;

        Assert.Throws<InvalidDataException>(() => VerifiedCrl.Verify(der, _anchors, delta: false, maxEntries: 100));
    }

    [Theory]
    [InlineData(new byte[] { 0x30, 0x03, 0x02, 0x01, 0x01 })]
    [InlineData(new byte[] { 0x01, 0x02, 0x03 })]
    [InlineData(new byte[0])]
    public void Verify_NotACrl_RefusedAsInvalidData(byte[] der) =>
        Assert.Throws<InvalidDataException>(() => VerifiedCrl.Verify(der, _anchors, delta: false, maxEntries: 100));

    [Fact]
    public async Task Verify_DeltaWhereCompleteExpected_Refused()
    {
        var der = await GetAsync("/pki/delta.crl");

        var error = Assert.Throws<InvalidDataException>(() => VerifiedCrl.Verify(der, _anchors, delta: false, maxEntries: 100));
        Assert.Contains("delta", error.Message);
    }

    [Fact]
    public void Verify_SameIssuerNameOtherKey_Refused()
    {
        var generator = new ECKeyPairGenerator();
        generator.Init(new ECKeyGenerationParameters(Org.BouncyCastle.Asn1.Sec.SecObjectIdentifiers.SecP256r1, new SecureRandom()));
        var pair = generator.GenerateKeyPair();
        var crl = new X509V2CrlGenerator();
        crl.SetIssuerDN(_anchors.IssuingBouncyCastle.SubjectDN);
        crl.SetThisUpdate(DateTime.UtcNow);
        crl.SetNextUpdate(DateTime.UtcNow.AddDays(1));
        crl.AddExtension(X509Extensions.CrlNumber, false, new CrlNumber(BigInteger.ValueOf(999)));
        var forged = crl.Generate(new Asn1SignatureFactory("SHA256WITHECDSA", pair.Private)).GetEncoded();

        var error = Assert.Throws<InvalidDataException>(() => VerifiedCrl.Verify(forged, _anchors, delta: false, maxEntries: 100));
        Assert.Contains("signature", error.Message);
    }

    [Fact]
    public async Task Verify_MoreEntriesThanTheBound_Refused()
    {
        using var certificate = await _pki.EnrollAsync("one");
        await _pki.RevokeAsync(certificate);

        var der = await GetAsync("/pki/crl");

        Assert.Throws<InvalidDataException>(() => VerifiedCrl.Verify(der, _anchors, delta: false, maxEntries: 0));
    }

    private async Task<byte[]> GetAsync(string path)
    {
        using var client = _pki.Factory.CreateClient();
        return await client.GetByteArrayAsync(path);
    }
}
