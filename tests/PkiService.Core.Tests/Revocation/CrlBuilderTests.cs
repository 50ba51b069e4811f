using System.Numerics;
using System.Security.Cryptography;
using CertificateRevocationListBuilder = System.Security.Cryptography.X509Certificates.CertificateRevocationListBuilder;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;
using Org.BouncyCastle.X509.Extension;
using PkiService.Core.Primitives;
using PkiService.Core.Revocation;
using PkiService.Core.Tests.TestSupport;

namespace PkiService.Core.Tests.Revocation;

public sealed class CrlBuilderTests(CaFixture ca) : IClassFixture<CaFixture>
{
    private DateTimeOffset ThisUpdate => ca.Now;

    private DateTimeOffset NextUpdate => ca.Now.AddDays(1);

    [Fact]
    public void Build_WithEveryReasonCode_EncodesReasonPerEntry()
    {
        var entries = RevocationReasons.All
            .Select((reason, i) => new RevokedCertificate(SerialNumber.NewRandom(), ca.Now.AddMinutes(-i), reason))
            .ToList();

        var crl = Parse(new CrlBuilder(ca.Issuing).Build(7, ThisUpdate, NextUpdate, entries));

        var listed = crl.GetRevokedCertificates().ToDictionary(e => SerialNumber.FromBouncyCastle(e.SerialNumber));
        Assert.Equal(entries.Count, listed.Count);
        foreach (var entry in entries)
        {
            var crlEntry = listed[entry.SerialNumber];
            Assert.Equal(entry.RevocationDate.UtcDateTime, crlEntry.RevocationDate);
            var reasonValue = crlEntry.GetExtensionValue(X509Extensions.ReasonCode);
            if (entry.Reason == RevocationReason.Unspecified)
            {
                Assert.Null(reasonValue); // RFC 5280 5.3.1: absent rather than unspecified
            }
            else
            {
                var reason = CrlReason.GetInstance(X509ExtensionUtilities.FromExtensionValue(reasonValue));
                Assert.Equal(entry.Reason.ToCrlReasonCode(), reason.IntValueExact);
                Assert.DoesNotContain(X509Extensions.ReasonCode.Id, crlEntry.GetCriticalExtensionOids() ?? new HashSet<string>());
            }
            Assert.Null(crlEntry.GetExtensionValue(X509Extensions.InvalidityDate));
        }
    }

    [Fact]
    public void Build_SignedByIssuingCa_VerifiesWithCaKeyAndCarriesNumberAkiAndTimes()
    {
        var signed = new CrlBuilder(ca.Issuing).Build(new BigInteger(42), ThisUpdate, NextUpdate, []);

        var crl = Parse(signed);
        Assert.Equal(2, crl.Version);
        Assert.True(crl.IssuerDN.Equivalent(ca.Issuing.Subject));
        Assert.Equal(ThisUpdate.UtcDateTime, crl.ThisUpdate);
        Assert.Equal(NextUpdate.UtcDateTime, crl.NextUpdate);
        var number = DerInteger.GetInstance(X509ExtensionUtilities.FromExtensionValue(crl.GetExtensionValue(X509Extensions.CrlNumber)));
        Assert.Equal(42, number.IntValueExact);
        var aki = AuthorityKeyIdentifier.GetInstance(X509ExtensionUtilities.FromExtensionValue(crl.GetExtensionValue(X509Extensions.AuthorityKeyIdentifier)));
        Assert.Equal(ca.Issuing.SubjectKeyIdentifier, aki.KeyIdentifier.GetOctets());
        Assert.Empty(crl.GetCriticalExtensionOids() ?? new HashSet<string>());
        Assert.Equal(0, signed.EntryCount);
        Assert.Equal(new BigInteger(42), signed.CrlNumber);
    }

    [Fact]
    public void Build_WithInvalidityDate_EncodesGeneralizedTimeOnThatEntryOnly()
    {
        var compromised = new RevokedCertificate(SerialNumber.NewRandom(), ca.Now, RevocationReason.KeyCompromise, ca.Now.AddDays(-3).AddMilliseconds(250));
        var superseded = new RevokedCertificate(SerialNumber.NewRandom(), ca.Now, RevocationReason.Superseded);

        var crl = Parse(new CrlBuilder(ca.Issuing).Build(1, ThisUpdate, NextUpdate, [compromised, superseded]));

        var entries = crl.GetRevokedCertificates().ToDictionary(e => SerialNumber.FromBouncyCastle(e.SerialNumber));
        var invalidity = Asn1GeneralizedTime.GetInstance(X509ExtensionUtilities.FromExtensionValue(
            entries[compromised.SerialNumber].GetExtensionValue(X509Extensions.InvalidityDate)));
        Assert.Equal(ca.Now.AddDays(-3).UtcDateTime, invalidity.ToDateTime());
        Assert.DoesNotContain('.', invalidity.TimeString); // whole seconds
        Assert.Null(entries[superseded.SerialNumber].GetExtensionValue(X509Extensions.InvalidityDate));
    }

    [Fact]
    public void Build_RootCrlWithNoEntries_VerifiesWithRootKey()
    {
        var crl = Parse(new CrlBuilder(ca.Root).Build(1, ThisUpdate, NextUpdate, []), ca.Root.Certificate);

        Assert.True(crl.IssuerDN.Equivalent(ca.Root.Subject));
        Assert.Null(crl.GetRevokedCertificates());
    }

    [Fact]
    public void Build_RootCrlListingIssuingCa_NamesIssuingCaSerial()
    {
        var entry = new RevokedCertificate(SerialNumber.FromBouncyCastle(ca.Issuing.Certificate.SerialNumber), ca.Now, RevocationReason.CaCompromise);

        var crl = Parse(new CrlBuilder(ca.Root).Build(2, ThisUpdate, NextUpdate, [entry]), ca.Root.Certificate);

        Assert.NotNull(crl.GetRevokedCertificate(ca.Issuing.Certificate.SerialNumber));
        Assert.True(crl.IsRevoked(ca.Issuing.Certificate));
    }

    [Fact]
    public void Build_SameInput_GivesIdenticalDerWithEntriesInSerialOrder()
    {
        var entries = Enumerable.Range(0, 5).Select(_ => new RevokedCertificate(SerialNumber.NewRandom(), ca.Now, RevocationReason.Superseded)).ToList();
        var builder = new CrlBuilder(ca.Issuing);

        var first = Parse(builder.Build(3, ThisUpdate, NextUpdate, entries));
        var second = Parse(builder.Build(3, ThisUpdate, NextUpdate, Enumerable.Reverse(entries)));

        Assert.Equal(first.GetTbsCertList(), second.GetTbsCertList()); // ECDSA signatures differ; the signed content does not
    }

    [Fact]
    public void Build_Pem_UsesX509CrlLabel()
    {
        var signed = new CrlBuilder(ca.Issuing).Build(1, ThisUpdate, NextUpdate, []);

        Assert.StartsWith("-----BEGIN X509 CRL-----\n", signed.Pem, StringComparison.Ordinal);
        var fields = PemEncoding.Find(signed.Pem);
        Assert.Equal(signed.Der, Convert.FromBase64String(signed.Pem[fields.Base64Data]));
    }

    [Fact]
    public void Build_ParsedBySystemSecurityCryptography_ReportsCrlNumberAndEntries()
    {
        var serial = SerialNumber.NewRandom();
        var signed = new CrlBuilder(ca.Issuing).Build(new BigInteger(ulong.MaxValue) * 3, ThisUpdate, NextUpdate,
            [new RevokedCertificate(serial, ca.Now, RevocationReason.KeyCompromise)]);

        var builder = CertificateRevocationListBuilder.Load(signed.Der, out var crlNumber);

        Assert.Equal(new BigInteger(ulong.MaxValue) * 3, crlNumber);
        Assert.True(builder.RemoveEntry(Convert.FromHexString(serial.Hex)));
    }

    [Fact]
    public void Build_FractionalTimes_AreTruncatedToSeconds()
    {
        var signed = new CrlBuilder(ca.Issuing).Build(1, ThisUpdate.AddMilliseconds(900), NextUpdate.AddMilliseconds(100), []);

        Assert.Equal(ThisUpdate, signed.ThisUpdate);
        Assert.Equal(NextUpdate, signed.NextUpdate);
    }

    [Fact]
    public void Build_NextUpdateNotAfterThisUpdate_Throws() =>
        Assert.Throws<ArgumentException>(() => new CrlBuilder(ca.Issuing).Build(1, ThisUpdate, ThisUpdate, []));

    [Fact]
    public void Build_NegativeOrOverlongCrlNumber_Throws()
    {
        var builder = new CrlBuilder(ca.Issuing);

        Assert.Throws<ArgumentOutOfRangeException>(() => builder.Build(-1, ThisUpdate, NextUpdate, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.Build(BigInteger.One << 160, ThisUpdate, NextUpdate, []));
        builder.Build((BigInteger.One << 160) - 1, ThisUpdate, NextUpdate, []); // 20 octets is the limit
    }

    [Fact]
    public void Build_DuplicateSerial_Throws()
    {
        var serial = SerialNumber.NewRandom();

        var exception = Assert.Throws<ArgumentException>(() => new CrlBuilder(ca.Issuing).Build(1, ThisUpdate, NextUpdate,
            [new RevokedCertificate(serial, ca.Now, RevocationReason.Superseded), new RevokedCertificate(serial, ca.Now, RevocationReason.KeyCompromise)]));
        Assert.Contains(serial.Hex, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_RoundTripsThroughOpenSsl_VerifiesAndShowsReasonsNumberAndInvalidityDate()
    {
        if (!OpenSsl.IsAvailable)
        {
            return; // xunit 2 has no runtime skip; the interop suite requires openssl anyway
        }
        var entries = RevocationReasons.All
            .Select(reason => new RevokedCertificate(SerialNumber.NewRandom(), ca.Now, reason, reason == RevocationReason.KeyCompromise ? ca.Now.AddDays(-1) : null))
            .ToList();
        var signed = new CrlBuilder(ca.Issuing).Build(12345, ThisUpdate, NextUpdate, entries);
        using var directory = new TemporaryDirectory();
        var crlFile = directory.Write("issuing.crl", signed.Der);
        var caFile = directory.Write("issuing.pem", ca.Issuing.Pem);

        var (exitCode, output) = OpenSsl.Run("crl", "-inform", "DER", "-in", crlFile, "-noout", "-text", "-CAfile", caFile);

        Assert.True(exitCode == 0, output);
        Assert.Contains("verify OK", output, StringComparison.Ordinal);
        Assert.Contains("X509v3 CRL Number", output, StringComparison.Ordinal);
        Assert.Contains("12345", output, StringComparison.Ordinal);
        Assert.Contains("X509v3 Authority Key Identifier", output, StringComparison.Ordinal);
        Assert.Contains("Invalidity Date", output, StringComparison.Ordinal);
        foreach (var text in new[] { "Key Compromise", "CA Compromise", "Affiliation Changed", "Superseded", "Cessation Of Operation", "Certificate Hold", "Privilege Withdrawn" })
        {
            Assert.Contains(text, output, StringComparison.Ordinal);
        }
        foreach (var entry in entries)
        {
            Assert.Contains(entry.SerialNumber.Hex, output, StringComparison.Ordinal);
        }
    }

    private X509Crl Parse(SignedCrl signed, X509Certificate? issuer = null)
    {
        var crl = new X509CrlParser().ReadCrl(signed.Der);
        crl.Verify((issuer ?? ca.Issuing.Certificate).GetPublicKey()); // throws if the signature does not verify
        return crl;
    }
}
