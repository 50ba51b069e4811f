using System.Formats.Asn1;
using System.Numerics;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;
using Org.BouncyCastle.X509.Extension;
using PkiService.Core.Primitives;
using PkiService.Core.Revocation;
using PkiService.Core.Tests.TestSupport;
using CertificateRevocationListBuilder = System.Security.Cryptography.X509Certificates.CertificateRevocationListBuilder;

namespace PkiService.Core.Tests.Revocation;

public sealed class CrlWriterTests(CaFixture ca) : IClassFixture<CaFixture>
{
    private const string DeltaUrl = "https://pki.example.test/pki/delta.crl";

    private DateTimeOffset ThisUpdate => ca.Now;

    private DateTimeOffset NextUpdate => ca.Now.AddDays(1);

    [Fact]
    public void Write_SameInputAsBouncyCastleGenerator_EncodesEveryFieldIdentically()
    {
        var entries = MixedEntries(500);

        var ours = Parse(new CrlBuilder(ca.Issuing, DeltaUrl).Build(987_654_321, ThisUpdate, NextUpdate, entries));
        var reference = BouncyCastleCrlReference.Build(ca.Issuing, 987_654_321, ThisUpdate, NextUpdate, entries, freshestCrlUrl: DeltaUrl);

        var (a, b) = (ours.CertificateList.TbsCertList, reference.CertificateList.TbsCertList);
        Assert.Equal(b.Version, a.Version);
        Assert.Equal(b.Signature.GetDerEncoded(), a.Signature.GetDerEncoded());
        Assert.Equal(ours.CertificateList.SignatureAlgorithm.GetDerEncoded(), a.Signature.GetDerEncoded());
        Assert.Equal(ca.Issuing.SubjectDer, a.Issuer.GetDerEncoded());
        Assert.Equal(b.ThisUpdate.ToAsn1Object().GetDerEncoded(), a.ThisUpdate.ToAsn1Object().GetDerEncoded());
        Assert.Equal(b.NextUpdate!.ToAsn1Object().GetDerEncoded(), a.NextUpdate!.ToAsn1Object().GetDerEncoded());
        var (ourEntries, referenceEntries) = (a.GetRevokedCertificates(), b.GetRevokedCertificates());
        Assert.Equal(referenceEntries.Length, ourEntries.Length);
        for (var i = 0; i < ourEntries.Length; i++)
        {
            Assert.Equal(referenceEntries[i].GetDerEncoded(), ourEntries[i].GetDerEncoded());
        }
        Assert.Equal(b.Extensions.GetDerEncoded(), a.Extensions.GetDerEncoded());
        Assert.Equal(b.GetDerEncoded(), a.GetDerEncoded()); // and so the whole signed content
    }

    [Fact]
    public void Write_ManyEntries_BouncyCastleParserVerifiesAndReadsEveryEntry()
    {
        var entries = MixedEntries(5_000);

        var signed = new CrlBuilder(ca.Issuing).Build(77, ThisUpdate, NextUpdate, entries);

        var crl = Parse(signed);
        Assert.Equal(5_000, signed.EntryCount);
        var listed = crl.GetRevokedCertificates().ToDictionary(e => SerialNumber.FromBouncyCastle(e.SerialNumber));
        Assert.Equal(entries.Count, listed.Count);
        foreach (var entry in entries)
        {
            var crlEntry = listed[entry.SerialNumber];
            Assert.Equal(entry.RevocationDate.UtcDateTime, crlEntry.RevocationDate);
            var reason = crlEntry.GetExtensionValue(X509Extensions.ReasonCode);
            int? expectedReason = entry.Reason == RevocationReason.Unspecified ? null : entry.Reason.ToCrlReasonCode();
            int? listedReason = reason is null ? null : CrlReason.GetInstance(X509ExtensionUtilities.FromExtensionValue(reason)).IntValueExact;
            Assert.Equal(expectedReason, listedReason);
            var invalidity = crlEntry.GetExtensionValue(X509Extensions.InvalidityDate);
            DateTime? expectedInvalidity = entry.InvalidityDate?.UtcDateTime;
            DateTime? listedInvalidity = invalidity is null ? null : Asn1GeneralizedTime.GetInstance(X509ExtensionUtilities.FromExtensionValue(invalidity)).ToDateTime();
            Assert.Equal(expectedInvalidity, listedInvalidity);
        }
        var number = DerInteger.GetInstance(X509ExtensionUtilities.FromExtensionValue(crl.GetExtensionValue(X509Extensions.CrlNumber)));
        Assert.Equal(77, number.IntValueExact);
        var aki = AuthorityKeyIdentifier.GetInstance(X509ExtensionUtilities.FromExtensionValue(crl.GetExtensionValue(X509Extensions.AuthorityKeyIdentifier)));
        Assert.Equal(ca.Issuing.SubjectKeyIdentifier, aki.KeyIdentifier.GetOctets());
    }

    [Fact]
    public void Write_LoadedBySystemSecurityCryptography_ReportsNumberAndEveryEntry()
    {
        var entries = MixedEntries(300);
        var signed = new CrlBuilder(ca.Issuing).Build(new BigInteger(ulong.MaxValue) + 5, ThisUpdate, NextUpdate, entries);

        var loaded = CertificateRevocationListBuilder.Load(signed.Der, out var crlNumber);

        Assert.Equal(new BigInteger(ulong.MaxValue) + 5, crlNumber);
        foreach (var entry in entries)
        {
            // .NET matches the INTEGER's content octets, so a serial with the top bit set carries its 0x00 sign octet.
            var octets = Convert.FromHexString(entry.SerialNumber.Hex);
            Assert.True(loaded.RemoveEntry(octets[0] >= 0x80 ? [0, .. octets] : octets), entry.SerialNumber.Hex);
        }
    }

    [Fact]
    public void Write_SerialsWithTopBitSetAndShortSerials_EncodePositiveMinimalIntegers()
    {
        var serials = new[] { "01", "7F", "80", "FF", "0100", "80000000000000000000000000000000", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF" }
            .Select(SerialNumber.Parse).ToList();
        var entries = serials.Select(s => new RevokedCertificate(s, ca.Now, RevocationReason.Superseded)).ToList();

        var crl = Parse(new CrlBuilder(ca.Issuing).Build(1, ThisUpdate, NextUpdate, entries));

        var encoded = crl.CertificateList.TbsCertList.GetRevokedCertificates().Select(e => e.UserCertificate).ToList();
        Assert.Equal(serials.Select(s => s.Hex), encoded.Select(i => SerialNumber.FromBouncyCastle(i.PositiveValue).Hex)); // numeric order
        Assert.All(encoded, i => Assert.Equal(1, i.Value.SignValue));
        Assert.Equal([0x02, 0x02, 0x00, 0x80], encoded[2].GetDerEncoded());
        Assert.Equal([0x02, 0x01, 0x7F], encoded[1].GetDerEncoded());
        Assert.Equal(23, encoded[^1].GetDerEncoded().Length); // 20 octets plus the sign octet, tag and length
    }

    [Theory]
    [InlineData("2049-12-31T23:59:59Z", 0x17)]
    [InlineData("2050-01-01T00:00:00Z", 0x18)]
    [InlineData("1999-06-30T12:00:00Z", 0x17)]
    public void Write_Times_UseUtcTimeBefore2050AndGeneralizedTimeFrom2050(string instant, byte expectedTag)
    {
        var time = DateTimeOffset.Parse(instant, System.Globalization.CultureInfo.InvariantCulture);
        var entries = new[] { new RevokedCertificate(SerialNumber.NewRandom(), time, RevocationReason.KeyCompromise, time) };

        var signed = new CrlBuilder(ca.Issuing).Build(1, time, time.AddDays(1), entries);
        var reference = BouncyCastleCrlReference.Build(ca.Issuing, 1, time, time.AddDays(1), entries);

        var tbs = TbsReader(signed.Der);
        tbs.ReadEncodedValue(); // version
        tbs.ReadEncodedValue(); // signature
        tbs.ReadEncodedValue(); // issuer
        Assert.Equal(expectedTag, tbs.ReadEncodedValue().Span[0]);
        Assert.Equal(new X509CrlParser().ReadCrl(signed.Der).GetTbsCertList(), reference.GetTbsCertList());
        Assert.Equal(time.UtcDateTime, Parse(signed).GetRevokedCertificates().Single().RevocationDate);
    }

    [Fact]
    public void Write_NoEntries_OmitsRevokedCertificatesField()
    {
        var signed = new CrlBuilder(ca.Issuing).Build(1, ThisUpdate, NextUpdate, []);

        var tbs = TbsReader(signed.Der);
        for (var field = 0; field < 5; field++)
        {
            tbs.ReadEncodedValue(); // version, signature, issuer, thisUpdate, nextUpdate
        }
        // RFC 5280 5.1.2.6: with no revoked certificates the field is absent, so crlExtensions [0] follows nextUpdate.
        Assert.Equal(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true), tbs.PeekTag());
        Assert.Equal(BouncyCastleCrlReference.Build(ca.Issuing, 1, ThisUpdate, NextUpdate, []).GetTbsCertList(), Parse(signed).GetTbsCertList());
    }

    [Fact]
    public void BuildDelta_CarriesCriticalDeltaCrlIndicatorWithBaseNumberAndNoFreshestCrl()
    {
        var entries = MixedEntries(20);

        var signed = new CrlBuilder(ca.Issuing, DeltaUrl).BuildDelta(12, 10, ThisUpdate, NextUpdate, entries);

        var crl = Parse(signed);
        Assert.True(signed.IsDelta);
        Assert.Equal(new BigInteger(10), signed.BaseCrlNumber);
        Assert.Contains(X509Extensions.DeltaCrlIndicator.Id, crl.GetCriticalExtensionOids());
        var baseNumber = DerInteger.GetInstance(X509ExtensionUtilities.FromExtensionValue(crl.GetExtensionValue(X509Extensions.DeltaCrlIndicator)));
        Assert.Equal(10, baseNumber.IntValueExact);
        Assert.Null(crl.GetExtensionValue(X509Extensions.FreshestCrl)); // RFC 5280 5.2.6: never in a delta CRL
        Assert.Equal(BouncyCastleCrlReference.Build(ca.Issuing, 12, ThisUpdate, NextUpdate, entries, baseCrlNumber: 10).GetTbsCertList(), crl.GetTbsCertList());
        Assert.Throws<ArgumentOutOfRangeException>(() => new CrlBuilder(ca.Issuing).BuildDelta(10, 10, ThisUpdate, NextUpdate, []));
    }

    [Fact]
    public void Build_WithFreshestCrlUrl_CarriesNonCriticalFreshestCrlPointingThere()
    {
        var crl = Parse(new CrlBuilder(ca.Issuing, DeltaUrl).Build(3, ThisUpdate, NextUpdate, []));

        Assert.DoesNotContain(X509Extensions.FreshestCrl.Id, crl.GetCriticalExtensionOids() ?? new HashSet<string>());
        var points = CrlDistPoint.GetInstance(X509ExtensionUtilities.FromExtensionValue(crl.GetExtensionValue(X509Extensions.FreshestCrl)));
        var name = GeneralNames.GetInstance(points.GetDistributionPoints().Single().DistributionPointName.Name).GetNames().Single();
        Assert.Equal(GeneralName.UniformResourceIdentifier, name.TagNo);
        Assert.Equal(DeltaUrl, name.Name.ToString());
        Assert.Null(crl.GetExtensionValue(X509Extensions.DeltaCrlIndicator));
    }

    [Fact]
    public void Write_CompleteAndDelta_OpenSslVerifiesAndShowsEntriesAndDeltaExtensions()
    {
        if (!OpenSsl.IsAvailable)
        {
            return; // xunit 2 has no runtime skip; the interop suite requires openssl anyway
        }
        var entries = MixedEntries(200);
        var builder = new CrlBuilder(ca.Issuing, DeltaUrl);
        using var directory = new TemporaryDirectory();
        var caFile = directory.Write("issuing.pem", ca.Issuing.Pem);
        var complete = directory.Write("complete.crl", builder.Build(40, ThisUpdate, NextUpdate, entries).Der);
        var delta = directory.Write("delta.crl", builder.BuildDelta(41, 40, ThisUpdate, NextUpdate, entries.Take(3)).Der);

        var (completeExit, completeText) = OpenSsl.Run("crl", "-inform", "DER", "-in", complete, "-noout", "-text", "-CAfile", caFile);
        var (deltaExit, deltaText) = OpenSsl.Run("crl", "-inform", "DER", "-in", delta, "-noout", "-text", "-CAfile", caFile);

        Assert.True(completeExit == 0, completeText);
        Assert.Contains("verify OK", completeText, StringComparison.Ordinal);
        Assert.Contains("Freshest CRL", completeText, StringComparison.Ordinal);
        Assert.Contains(DeltaUrl, completeText, StringComparison.Ordinal);
        foreach (var entry in entries)
        {
            Assert.Contains(entry.SerialNumber.Hex, completeText, StringComparison.Ordinal);
        }
        Assert.True(deltaExit == 0, deltaText);
        Assert.Contains("verify OK", deltaText, StringComparison.Ordinal);
        Assert.Contains("Delta CRL Indicator: critical", deltaText, StringComparison.Ordinal);
        Assert.DoesNotContain("Freshest CRL", deltaText, StringComparison.Ordinal);
    }

    [Fact]
    public void Add_ZeroOrOverlongSerial_Throws()
    {
        var writer = new CrlWriter(ca.Issuing);

        Assert.Throws<ArgumentException>(() => writer.Add([0, 0], ca.Now, RevocationReason.Superseded));
        Assert.Throws<ArgumentException>(() => writer.Add(new byte[21].Select(_ => (byte)1).ToArray(), ca.Now, RevocationReason.Superseded));
        writer.Add([0, 0, 5], ca.Now, RevocationReason.Superseded); // leading zero octets are not part of the value
        Assert.Equal(1, writer.Count);
    }

    /// <summary>Random serials (some with the top octet above 0x7F), every reason, a third with an invalidity date.</summary>
    private List<RevokedCertificate> MixedEntries(int count) => Enumerable.Range(0, count)
        .Select(i =>
        {
            Span<byte> serial = stackalloc byte[16];
            System.Security.Cryptography.RandomNumberGenerator.Fill(serial);
            serial[0] = (byte)(i % 2 == 0 ? serial[0] | 0x80 : (serial[0] & 0x7F) | 0x01);
            return new RevokedCertificate(
                SerialNumber.FromUnsignedBytes(serial[..(i % 7 == 0 ? 9 : 16)]),
                ca.Now.AddMinutes(-i),
                RevocationReasons.All[i % RevocationReasons.All.Count],
                i % 3 == 0 ? ca.Now.AddDays(-2).AddSeconds(-i) : null);
        })
        .ToList();

    private static AsnReader TbsReader(byte[] der) => new AsnReader(der, AsnEncodingRules.DER).ReadSequence().ReadSequence();

    private X509Crl Parse(SignedCrl signed)
    {
        var crl = new X509CrlParser().ReadCrl(signed.Der);
        crl.Verify(ca.Issuing.Certificate.GetPublicKey()); // throws if the signature does not verify
        return crl;
    }
}
