using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using PkiService.Core.Authorities;
using PkiService.Core.Issuance;
using PkiService.Core.Primitives;
using PkiService.Core.Tests.TestSupport;

namespace PkiService.Core.Tests.Issuance;

public sealed class TlsServerCertificateTests(CaFixture ca) : IClassFixture<CaFixture>
{
    private static readonly SubjectAltName[] Loopback = [SubjectAltName.Classify("localhost"), SubjectAltName.Classify("127.0.0.1")];

    [Fact]
    public async Task LoadOrCreate_EmptyStoreThenAgain_IssuesOnceThroughTheServerProfileAndLoadsTheStoredPair()
    {
        var store = new InMemoryCaKeyStore();
        var issued = 0;

        using var first = await LoadOrCreateAsync(store, Loopback, ca.Clock(), () => issued++);
        using var second = await LoadOrCreateAsync(store, Loopback, ca.Clock(), () => issued++);

        Assert.Equal(1, issued);
        Assert.Equal(first.SerialNumber, second.SerialNumber);
        Assert.True(ca.Issuing.HasSigned(second.Certificate));
        Assert.True(second.HasSubjectAltNames(Loopback));
        using var tls = second.ToX509Certificate2();
        Assert.True(tls.HasPrivateKey);
        Assert.Contains(tls.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>(),
            oid => oid.Value == "1.3.6.1.5.5.7.3.1"); // id-kp-serverAuth
    }

    [Fact]
    public async Task LoadOrCreate_ThirdOfLifeLeftOrOtherNames_IssuesANewOne()
    {
        var store = new InMemoryCaKeyStore();
        var issued = 0;
        using var first = await LoadOrCreateAsync(store, Loopback, ca.Clock(), () => issued++);

        using var later = await LoadOrCreateAsync(store, Loopback, new FixedTimeProvider(ca.Now.AddDays(21)), () => issued++);
        using var renamed = await LoadOrCreateAsync(store, [.. Loopback, SubjectAltName.Classify("pki.example.org")], new FixedTimeProvider(ca.Now.AddDays(21)), () => issued++);

        Assert.Equal(3, issued);
        Assert.NotEqual(first.SerialNumber, later.SerialNumber);
        Assert.Contains(SubjectAltName.Classify("pki.example.org"), renamed.SubjectAltNames);
    }

    [Fact]
    public async Task Load_WrongPassphrase_ThrowsCaKeyUnlockException()
    {
        var store = new InMemoryCaKeyStore();
        using var _ = await LoadOrCreateAsync(store, Loopback, ca.Clock(), () => { });

        await Assert.ThrowsAsync<CaKeyUnlockException>(() => TlsServerCertificate.LoadOrCreateAsync(
            new FileCaKeyProvider(store, "wrong", 1_000), "listener", ca.Issuing, "localhost", Loopback,
            (_, _) => throw new InvalidOperationException("must not issue"), ca.Clock(), NullLogger.Instance));
    }

    private Task<TlsServerCertificate> LoadOrCreateAsync(InMemoryCaKeyStore store, IReadOnlyList<SubjectAltName> names, TimeProvider time, Action onIssue)
    {
        var authority = new IssuingAuthority(ca.Issuing, PublicationPoints.ForIssuingCa("http://pki.test"), time);
        return TlsServerCertificate.LoadOrCreateAsync(
            new FileCaKeyProvider(store, CaFixture.Passphrase, 1_000), "listener", ca.Issuing, "localhost", names,
            (request, _) =>
            {
                onIssue();
                var grant = IssuanceGrant.ForService("listener", new NameAuthorization("localhost", names), CertificateProfile.Server);
                return Task.FromResult(authority.Issue(new IssuanceOrder(SerialNumber.NewRandom(), request, grant, TimeSpan.FromDays(30))).Der);
            },
            time, NullLogger.Instance);
    }
}
