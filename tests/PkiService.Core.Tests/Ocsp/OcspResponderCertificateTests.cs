using Microsoft.Extensions.Logging.Abstractions;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Ocsp;
using Org.BouncyCastle.Asn1.X509;
using PkiService.Core.Authorities;
using PkiService.Core.Ocsp;
using PkiService.Core.Tests.TestSupport;

namespace PkiService.Core.Tests.Ocsp;

public sealed class OcspResponderCertificateTests(CaFixture ca) : IClassFixture<CaFixture>
{
    [Fact]
    public void Create_ForIssuingCa_IsDelegatedResponderWithOcspSigningNocheckAndCriticalDigitalSignature()
    {
        using var responder = OcspResponderCertificate.Create(ca.Issuing, OcspResponderCertificate.DefaultValidity, ca.Clock());
        var certificate = responder.Certificate;

        certificate.Verify(ca.Issuing.Certificate.GetPublicKey());
        Assert.True(certificate.IssuerDN.Equivalent(ca.Issuing.Subject));
        Assert.Contains(KeyPurposeID.id_kp_OCSPSigning.Id, certificate.GetExtendedKeyUsage().Select(p => p.Id));
        Assert.NotNull(certificate.GetExtensionValue(OcspObjectIdentifiers.PkixOcspNocheck));
        Assert.Contains(X509Extensions.KeyUsage.Id, certificate.GetCriticalExtensionOids());
        var keyUsage = certificate.GetKeyUsage();
        Assert.True(keyUsage[0]); // digitalSignature
        Assert.DoesNotContain(true, keyUsage.Skip(1));
        Assert.Equal(-1, certificate.GetBasicConstraints());
        Assert.Equal(256, responder.PrivateKey.KeySize);
        Assert.Equal(ca.Now.AddMinutes(-1), responder.NotBefore);
        Assert.Equal(ca.Now.AddDays(30), responder.NotAfter);
        Assert.True(responder.IsIssuedBy(ca.Issuing));
        Assert.False(responder.IsIssuedBy(ca.Root));
    }

    [Fact]
    public void Create_ValidityBeyondCaNotAfter_IsClampedToCa()
    {
        using var responder = OcspResponderCertificate.Create(ca.Issuing, TimeSpan.FromDays(365 * 30), ca.Clock());

        Assert.Equal(new DateTimeOffset(ca.Issuing.Certificate.NotAfter, TimeSpan.Zero), responder.NotAfter);
    }

    [Fact]
    public void NeedsRenewal_LessThanAThirdOfLifetimeLeft_IsTrue()
    {
        using var responder = OcspResponderCertificate.Create(ca.Issuing, TimeSpan.FromDays(30), ca.Clock());
        var lifetime = responder.NotAfter - responder.NotBefore;

        Assert.False(responder.NeedsRenewal(ca.Now));
        Assert.False(responder.NeedsRenewal(responder.NotAfter - lifetime / 3 - TimeSpan.FromSeconds(1)));
        Assert.True(responder.NeedsRenewal(responder.NotAfter - lifetime / 3 + TimeSpan.FromSeconds(1)));
        Assert.True(responder.NeedsRenewal(responder.NotAfter.AddDays(1)));
    }

    [Fact]
    public void LoadOrCreate_StoredThenLoaded_RestoresCertificateAndKey()
    {
        var store = new InMemoryCaKeyStore();
        using var created = LoadOrCreate(store, ca.Clock());

        using var loaded = OcspResponderCertificate.FromStored("responder", new FileCaKeyProvider(store, CaFixture.Passphrase, 1_000)
            .TryLoad(OcspResponderCertificate.StoreName(CaHierarchy.IssuingName))!);

        Assert.Equal(created.Der, loaded.Der);
        Assert.Equal(created.PrivateKey.ExportSubjectPublicKeyInfo(), loaded.PrivateKey.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void LoadOrCreate_WrongPassphrase_ThrowsCaKeyUnlockException()
    {
        var store = new InMemoryCaKeyStore();
        using var _ = LoadOrCreate(store, ca.Clock());

        Assert.Throws<CaKeyUnlockException>(() => OcspResponderCertificate.LoadOrCreate(new FileCaKeyProvider(store, "other", 1_000),
            CaHierarchy.IssuingName, ca.Issuing, TimeSpan.FromDays(30), ca.Clock(), NullLogger.Instance));
    }

    [Fact]
    public void LoadOrCreate_FirstThenAgain_CreatesOnceThenLoadsSameCertificate()
    {
        var store = new InMemoryCaKeyStore();
        var clock = ca.Clock();

        using var first = LoadOrCreate(store, clock);
        using var second = LoadOrCreate(store, clock);

        Assert.Equal(1, store.SaveCount);
        Assert.Equal(first.Der, second.Der);
        Assert.True(store.TryLoad(OcspResponderCertificate.StoreName(CaHierarchy.IssuingName), out var storedDer, out _));
        Assert.Equal(first.Der, storedDer);
    }

    [Fact]
    public void LoadOrCreate_StoredCertificateNeedsRenewal_CreatesAndStoresNewOne()
    {
        var store = new InMemoryCaKeyStore();
        var clock = ca.Clock();
        using var first = LoadOrCreate(store, clock);

        clock.Advance(TimeSpan.FromDays(21));
        using var renewed = LoadOrCreate(store, clock);

        Assert.Equal(2, store.SaveCount);
        Assert.NotEqual(first.Der, renewed.Der);
        Assert.Equal(clock.GetUtcNow().AddDays(30), renewed.NotAfter);
    }

    [Fact]
    public void LoadOrCreate_StoredCertificateFromAnotherCa_IsReplaced()
    {
        var store = new InMemoryCaKeyStore();
        using (var fromRoot = OcspResponderCertificate.Create(ca.Root, TimeSpan.FromDays(30), ca.Clock()))
        {
            new FileCaKeyProvider(store, CaFixture.Passphrase, 1_000).Save(OcspResponderCertificate.StoreName(CaHierarchy.IssuingName), fromRoot.Der, fromRoot.PrivateKey);
        }

        using var responder = LoadOrCreate(store, ca.Clock());

        Assert.True(responder.IsIssuedBy(ca.Issuing));
        Assert.Equal(2, store.SaveCount);
    }

    private OcspResponderCertificate LoadOrCreate(InMemoryCaKeyStore store, TimeProvider clock) =>
        OcspResponderCertificate.LoadOrCreate(new FileCaKeyProvider(store, CaFixture.Passphrase, 1_000), CaHierarchy.IssuingName, ca.Issuing,
            TimeSpan.FromDays(30), clock, NullLogger.Instance);
}
