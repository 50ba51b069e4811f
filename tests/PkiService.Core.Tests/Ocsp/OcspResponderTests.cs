using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Nist;
using Org.BouncyCastle.Asn1.Ocsp;
using Org.BouncyCastle.Asn1.Oiw;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Ocsp;
using Org.BouncyCastle.X509;
using Org.BouncyCastle.X509.Extension;
using PkiService.Core.Authorities;
using PkiService.Core.Ocsp;
using PkiService.Core.Primitives;
using PkiService.Core.Revocation;
using PkiService.Core.Tests.TestSupport;

namespace PkiService.Core.Tests.Ocsp;

public sealed class OcspResponderTests : IClassFixture<CaFixture>, IDisposable
{
    private static readonly string Sha1 = OiwObjectIdentifiers.IdSha1.Id;
    private static readonly string Sha256 = NistObjectIdentifiers.IdSha256.Id;

    private readonly CaFixture _ca;
    private readonly FixedTimeProvider _clock;
    private readonly InMemoryStatusSource _statuses = new();
    private readonly OcspResponderCertificate _issuingResponder;
    private readonly OcspResponderCertificate _rootResponder;
    private readonly OcspResponder _responder;
    private readonly SerialNumber _good = SerialNumber.NewRandom();
    private readonly SerialNumber _revoked = SerialNumber.NewRandom();
    private readonly DateTimeOffset _revokedAt;

    public OcspResponderTests(CaFixture ca)
    {
        _ca = ca;
        _clock = ca.Clock();
        _issuingResponder = OcspResponderCertificate.Create(ca.Issuing, OcspResponderCertificate.DefaultValidity, _clock);
        _rootResponder = OcspResponderCertificate.Create(ca.Root, OcspResponderCertificate.DefaultValidity, _clock);
        _revokedAt = ca.Now.AddHours(-2);
        _statuses.Set(ca.Issuing.Fingerprint, _good, RevocationStatus.Good);
        _statuses.Set(ca.Issuing.Fingerprint, _revoked, RevocationStatus.Revoked(_revokedAt, RevocationReason.KeyCompromise));
        _statuses.Set(ca.Root.Fingerprint, SerialNumber.FromBouncyCastle(ca.Issuing.Certificate.SerialNumber), RevocationStatus.Good);
        _responder = new OcspResponder(
            [new OcspResponderEntry(ca.Root, _rootResponder), new OcspResponderEntry(ca.Issuing, _issuingResponder)],
            _statuses,
            _clock);
    }

    public void Dispose()
    {
        _issuingResponder.Dispose();
        _rootResponder.Dispose();
    }

    [Theory]
    [InlineData("1.3.14.3.2.26")]
    [InlineData("2.16.840.1.101.3.4.2.1")]
    public async Task Respond_GoodCertificate_ReturnsGoodSignedByDelegatedResponder(string hashAlgorithm)
    {
        var certId = CertId(_ca.Issuing, _good, hashAlgorithm);

        var reply = await _responder.RespondAsync(Request([certId]));

        var basic = AssertSigned(reply, _issuingResponder, _ca.Issuing);
        var single = Assert.Single(basic.Responses);
        Assert.Equal(certId, single.GetCertID());
        Assert.Null(single.GetCertStatus()); // BouncyCastle's CertificateStatus.Good
        Assert.Equal(_ca.Now.UtcDateTime, single.ThisUpdate);
        Assert.Equal(_ca.Now.AddHours(1).UtcDateTime, single.NextUpdate);
        Assert.Equal(_ca.Now, reply.ThisUpdate);
        Assert.Equal(_ca.Now.AddHours(1), reply.NextUpdate);
    }

    [Theory]
    [InlineData("1.3.14.3.2.26")]
    [InlineData("2.16.840.1.101.3.4.2.1")]
    public async Task Respond_RevokedCertificate_ReturnsRevocationTimeAndReason(string hashAlgorithm)
    {
        var reply = await _responder.RespondAsync(Request([CertId(_ca.Issuing, _revoked, hashAlgorithm)]));

        var status = Assert.IsType<RevokedStatus>(Assert.Single(AssertSigned(reply, _issuingResponder, _ca.Issuing).Responses).GetCertStatus());
        Assert.Equal(_revokedAt.UtcDateTime, status.RevocationTime);
        Assert.True(status.HasRevocationReason);
        Assert.Equal(CrlReason.KeyCompromise, status.RevocationReason);
    }

    public static TheoryData<RevocationReason> EveryReason => new(RevocationReasons.All);

    [Theory]
    [MemberData(nameof(EveryReason))]
    public async Task Respond_RevokedWithEveryReason_EncodesReasonExceptUnspecified(RevocationReason reason)
    {
        var serial = SerialNumber.NewRandom();
        _statuses.Set(_ca.Issuing.Fingerprint, serial, RevocationStatus.Revoked(_revokedAt, reason));

        var reply = await _responder.RespondAsync(Request([CertId(_ca.Issuing, serial, Sha1)]));

        var status = Assert.IsType<RevokedStatus>(Assert.Single(AssertSigned(reply, _issuingResponder, _ca.Issuing).Responses).GetCertStatus());
        if (reason == RevocationReason.Unspecified)
        {
            Assert.False(status.HasRevocationReason);
        }
        else
        {
            Assert.Equal(reason.ToCrlReasonCode(), status.RevocationReason);
        }
    }

    [Fact]
    public async Task Respond_SerialNeverIssued_ReturnsUnknownAndNoCacheKey()
    {
        var reply = await _responder.RespondAsync(Request([CertId(_ca.Issuing, SerialNumber.NewRandom(), Sha1)]));

        Assert.IsType<UnknownStatus>(Assert.Single(AssertSigned(reply, _issuingResponder, _ca.Issuing).Responses).GetCertStatus());
        Assert.Null(reply.CacheKey);
    }

    [Fact]
    public async Task Respond_RootAsIssuer_AnswersForIssuingCaWithRootResponder()
    {
        var serial = SerialNumber.FromBouncyCastle(_ca.Issuing.Certificate.SerialNumber);

        var reply = await _responder.RespondAsync(Request([CertId(_ca.Root, serial, Sha256)]));

        Assert.Null(Assert.Single(AssertSigned(reply, _rootResponder, _ca.Root).Responses).GetCertStatus());
    }

    [Fact]
    public async Task Respond_SeveralCertificates_AnswersEachInOneResponse()
    {
        var unknown = SerialNumber.NewRandom();
        var ids = new[] { CertId(_ca.Issuing, _good, Sha1), CertId(_ca.Issuing, _revoked, Sha256), CertId(_ca.Issuing, unknown, Sha1) };

        var reply = await _responder.RespondAsync(Request(ids));

        var responses = AssertSigned(reply, _issuingResponder, _ca.Issuing).Responses;
        Assert.Equal(3, responses.Length);
        Assert.Null(responses.Single(r => r.GetCertID().Equals(ids[0])).GetCertStatus());
        Assert.IsType<RevokedStatus>(responses.Single(r => r.GetCertID().Equals(ids[1])).GetCertStatus());
        Assert.IsType<UnknownStatus>(responses.Single(r => r.GetCertID().Equals(ids[2])).GetCertStatus());
        Assert.All(responses, r => Assert.NotNull(r.NextUpdate));
        Assert.Null(reply.CacheKey);
    }

    [Fact]
    public async Task Respond_TenCertificates_IsAnswered()
    {
        var ids = Enumerable.Range(0, OcspResponder.MaxSingleRequests).Select(_ => CertId(_ca.Issuing, SerialNumber.NewRandom(), Sha1)).ToArray();

        var reply = await _responder.RespondAsync(Request(ids));

        Assert.Equal(10, AssertSigned(reply, _issuingResponder, _ca.Issuing).Responses.Length);
    }

    [Fact]
    public async Task Respond_ElevenCertificates_IsMalformedRequest()
    {
        var ids = Enumerable.Range(0, 11).Select(_ => CertId(_ca.Issuing, SerialNumber.NewRandom(), Sha1)).ToArray();

        var reply = await _responder.RespondAsync(Request(ids));

        AssertRefused(reply, OcspRespStatus.MalformedRequest);
        Assert.Equal(0, _statuses.Lookups);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(32)]
    public async Task Respond_WithNonce_EchoesNonceAndIsNotCacheable(int nonceLength)
    {
        var nonce = Enumerable.Range(1, nonceLength).Select(i => (byte)i).ToArray();
        var request = Request([CertId(_ca.Issuing, _good, Sha256)], nonce);

        var parsed = _responder.Parse(request);
        var reply = await _responder.RespondAsync(parsed);

        Assert.True(parsed.HasNonce);
        Assert.Null(parsed.CacheKey);
        Assert.Null(reply.CacheKey);
        var basic = AssertSigned(reply, _issuingResponder, _ca.Issuing);
        var echoed = Asn1OctetString.GetInstance(X509ExtensionUtilities.FromExtensionValue(basic.GetExtensionValue(OcspObjectIdentifiers.PkixOcspNonce)));
        Assert.Equal(nonce, echoed.GetOctets());
        Assert.DoesNotContain(OcspObjectIdentifiers.PkixOcspNonce.Id, basic.GetCriticalExtensionOids() ?? new HashSet<string>());
    }

    [Fact]
    public async Task Respond_WithoutNonce_HasNoNonceExtension()
    {
        var reply = await _responder.RespondAsync(Request([CertId(_ca.Issuing, _good, Sha1)]));

        Assert.Null(AssertSigned(reply, _issuingResponder, _ca.Issuing).GetExtensionValue(OcspObjectIdentifiers.PkixOcspNonce));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(33)]
    [InlineData(64)]
    public async Task Respond_NonceEmptyOrLongerThan32Octets_IsMalformedRequest(int nonceLength)
    {
        var reply = await _responder.RespondAsync(Request([CertId(_ca.Issuing, _good, Sha1)], new byte[nonceLength]));

        AssertRefused(reply, OcspRespStatus.MalformedRequest);
    }

    [Fact]
    public async Task Respond_IssuerNotHeld_IsUnauthorized()
    {
        using var foreign = CaFixture.CreateHierarchy(new InMemoryCaKeyStore(), _ca.Now);

        var reply = await _responder.RespondAsync(Request([CertId(foreign.Issuing, _good, Sha1)]));

        AssertRefused(reply, OcspRespStatus.Unauthorized);
    }

    [Fact]
    public async Task Respond_CertificatesOfTwoCas_IsUnauthorized()
    {
        var reply = await _responder.RespondAsync(Request([
            CertId(_ca.Issuing, _good, Sha1),
            CertId(_ca.Root, SerialNumber.FromBouncyCastle(_ca.Issuing.Certificate.SerialNumber), Sha1)]));

        AssertRefused(reply, OcspRespStatus.Unauthorized);
    }

    [Fact]
    public async Task Respond_UnsupportedCertIdHash_IsUnauthorized()
    {
        var md5 = new CertificateID(new CertID(
            new AlgorithmIdentifier(new DerObjectIdentifier("1.2.840.113549.2.5"), DerNull.Instance),
            new DerOctetString(new byte[16]), new DerOctetString(new byte[16]), new DerInteger(_good.ToBouncyCastle())));

        var reply = await _responder.RespondAsync(Request([md5]));

        AssertRefused(reply, OcspRespStatus.Unauthorized);
    }

    public static TheoryData<byte[]> Garbage => new(
        [],
        [0x00],
        [0x30, 0x03, 0x02, 0x01, 0x01],
        "GET / HTTP/1.1\r\n\r\n"u8.ToArray(),
        Enumerable.Repeat((byte)0xFF, 300).ToArray(),
        [0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0x30]);

    [Theory]
    [MemberData(nameof(Garbage))]
    public async Task Respond_Garbage_IsMalformedRequest(byte[] garbage)
    {
        var reply = await _responder.RespondAsync(garbage);

        AssertRefused(reply, OcspRespStatus.MalformedRequest);
    }

    [Fact]
    public async Task Respond_TruncatedRequest_IsMalformedRequestAtEveryLength()
    {
        var request = Request([CertId(_ca.Issuing, _good, Sha1)], [1, 2, 3, 4]);

        for (var length = 0; length < request.Length; length++)
        {
            var reply = await _responder.RespondAsync(request.AsMemory(0, length));
            AssertRefused(reply, OcspRespStatus.MalformedRequest);
        }
    }

    [Fact]
    public async Task Respond_TrailingBytesAfterRequest_IsMalformedRequest()
    {
        var request = Request([CertId(_ca.Issuing, _good, Sha1)]);

        var reply = await _responder.RespondAsync(request.Concat(new byte[] { 0x00, 0x00 }).ToArray());

        AssertRefused(reply, OcspRespStatus.MalformedRequest);
    }

    [Fact]
    public async Task Respond_RequestLargerThan64KiB_IsMalformedRequest()
    {
        var reply = await _responder.RespondAsync(new byte[OcspResponder.MaxRequestOctets + 1]);

        AssertRefused(reply, OcspRespStatus.MalformedRequest);
    }

    [Fact]
    public async Task Respond_StatusSourceFails_IsInternalError()
    {
        _statuses.Failure = new InvalidOperationException("database is down");

        var reply = await _responder.RespondAsync(Request([CertId(_ca.Issuing, _good, Sha1)]));

        AssertRefused(reply, OcspRespStatus.InternalError);
    }

    [Fact]
    public async Task Respond_ConfiguredResponseValidity_SetsNextUpdate()
    {
        var responder = new OcspResponder([new OcspResponderEntry(_ca.Issuing, _issuingResponder)], _statuses, _clock, TimeSpan.FromMinutes(10));

        var reply = await responder.RespondAsync(Request([CertId(_ca.Issuing, _good, Sha1)]));

        Assert.Equal(_ca.Now.AddMinutes(10).UtcDateTime, Assert.Single(AssertSigned(reply, _issuingResponder, _ca.Issuing).Responses).NextUpdate);
    }

    [Fact]
    public async Task Respond_ResponseValidityBeyondResponderCertificate_IsClampedToItsNotAfter()
    {
        var responder = new OcspResponder([new OcspResponderEntry(_ca.Issuing, _issuingResponder)], _statuses, _clock, TimeSpan.FromDays(60));

        var reply = await responder.RespondAsync(Request([CertId(_ca.Issuing, _good, Sha1)]));

        Assert.Equal(_issuingResponder.NotAfter, reply.NextUpdate);
    }

    [Theory]
    [InlineData("1.3.14.3.2.26", "SHA1")]
    [InlineData("2.16.840.1.101.3.4.2.1", "SHA256")]
    public async Task Parse_SingleCertificateWithoutNonce_GivesCacheKeyThatReplyRepeats(string hashAlgorithm, string keyName)
    {
        var parsed = _responder.Parse(Request([CertId(_ca.Issuing, _revoked, hashAlgorithm)]));
        var reply = await _responder.RespondAsync(parsed);

        var expected = new OcspCacheKey(_ca.Issuing.Fingerprint, _revoked, keyName);
        Assert.Null(parsed.Rejection);
        Assert.Equal(expected, parsed.CacheKey);
        Assert.Equal(expected, reply.CacheKey);
    }

    [Fact]
    public async Task Parse_CertIdHashWithoutNullParameters_GetsDistinctCacheKeyAndEchoedCertId()
    {
        var certId = RawCertId(_ca.Issuing, _good, new AlgorithmIdentifier(NistObjectIdentifiers.IdSha256));

        var parsed = _responder.Parse(Request([certId]));
        var reply = await _responder.RespondAsync(parsed);

        Assert.Equal(new OcspCacheKey(_ca.Issuing.Fingerprint, _good, "SHA256-NOPARAMS"), parsed.CacheKey);
        Assert.Equal(certId.ToAsn1Object(), Assert.Single(AssertSigned(reply, _issuingResponder, _ca.Issuing).Responses).GetCertID().ToAsn1Object());
    }

    [Theory]
    [InlineData("1.3.14.3.2.26", true)]
    [InlineData("2.16.840.1.101.3.4.2.1", true)]
    [InlineData("2.16.840.1.101.3.4.2.3", false)]
    public void Parse_PlainSingleRequest_IsPlain(string hashAlgorithm, bool nullParameters)
    {
        var algorithm = nullParameters
            ? new AlgorithmIdentifier(new DerObjectIdentifier(hashAlgorithm), DerNull.Instance)
            : new AlgorithmIdentifier(new DerObjectIdentifier(hashAlgorithm));
        var request = Request([RawCertId(_ca.Issuing, _good, algorithm)]);

        var parsed = _responder.Parse(request);

        Assert.NotNull(parsed.CacheKey);
        Assert.True(parsed.IsPlainSingleRequest);
        Assert.InRange(request.Length, 60, OcspResponder.MaxPlainRequestOctets);
    }

    [Fact]
    public void Parse_LargestPlainRequest_FitsMaxPlainRequestOctets()
    {
        // SHA-512 CertID with NULL parameters, a 20-octet serial with its top bit set, and the default v1 written out.
        var serial = SerialNumber.FromUnsignedBytes(Enumerable.Repeat((byte)0xFF, SerialNumber.MaxOctets).ToArray());
        var certId = CertId(_ca.Issuing, serial, NistObjectIdentifiers.IdSha512.Id).ToAsn1Object();
        var tbs = new DerSequence(new DerTaggedObject(true, 0, DerInteger.ValueOf(0)), new DerSequence(new Request(certId, null)));
        var request = new DerSequence(tbs).GetEncoded(Asn1Encodable.Der);

        var parsed = _responder.Parse(request);

        Assert.True(parsed.IsPlainSingleRequest);
        Assert.InRange(request.Length, 180, OcspResponder.MaxPlainRequestOctets);
    }

    [Fact]
    public void Parse_UnknownExtension_KeepsCacheKeyButIsNotPlain()
    {
        var generator = new OcspReqGenerator();
        generator.AddRequest(CertId(_ca.Issuing, _good, Sha1));
        var extensions = new X509ExtensionsGenerator();
        extensions.AddExtension(new DerObjectIdentifier("1.3.6.1.4.1.32473.1.1"), false, new DerOctetString(new byte[100]));
        generator.SetRequestExtensions(extensions.Generate());

        var parsed = _responder.Parse(generator.Generate().GetEncoded());

        Assert.Equal(new OcspCacheKey(_ca.Issuing.Fingerprint, _good, "SHA1"), parsed.CacheKey); // answered like the plain request
        Assert.False(parsed.IsPlainSingleRequest);
    }

    [Fact]
    public void Parse_NonceSeveralCertificatesOrOddHashParameters_IsNotPlain()
    {
        var odd = RawCertId(_ca.Issuing, _good, new AlgorithmIdentifier(OiwObjectIdentifiers.IdSha1, DerInteger.ValueOf(7)));

        Assert.False(_responder.Parse(Request([CertId(_ca.Issuing, _good, Sha1)], nonce: new byte[16])).IsPlainSingleRequest);
        Assert.False(_responder.Parse(Request([CertId(_ca.Issuing, _good, Sha1), CertId(_ca.Issuing, _revoked, Sha1)])).IsPlainSingleRequest);
        Assert.False(_responder.Parse(Request([odd])).IsPlainSingleRequest);
    }

    [Fact]
    public void Parse_NonMinimalLengthEncoding_IsNotPlain()
    {
        var der = Request([CertId(_ca.Issuing, _good, Sha1)]);
        Assert.Equal(0x30, der[0]);
        Assert.True(der[1] < 0x80, "short-form length");
        // The same request with its outer length in long form (BER allows it, DER does not).
        byte[] ber = [0x30, 0x81, .. der.AsSpan(1)];

        var parsed = _responder.Parse(ber);

        Assert.False(parsed.IsPlainSingleRequest);
    }

    [Theory]
    [InlineData("SHA1", "1.3.14.3.2.26")]
    [InlineData("SHA256", "2.16.840.1.101.3.4.2.1")]
    public void BuildResponse_ForCacheKey_MatchesWhatARequestWouldGet(string keyName, string hashAlgorithm)
    {
        var key = new OcspCacheKey(_ca.Issuing.Fingerprint, _revoked, keyName);

        var reply = _responder.BuildResponse(key, RevocationStatus.Revoked(_revokedAt, RevocationReason.Superseded));

        var single = Assert.Single(AssertSigned(reply, _issuingResponder, _ca.Issuing).Responses);
        Assert.Equal(CertId(_ca.Issuing, _revoked, hashAlgorithm).ToAsn1Object(), single.GetCertID().ToAsn1Object());
        Assert.Equal(CrlReason.Superseded, Assert.IsType<RevokedStatus>(single.GetCertStatus()).RevocationReason);
        Assert.Equal(key, reply.CacheKey);
    }

    [Fact]
    public void BuildResponse_ForCaNotHeld_Throws() =>
        Assert.Throws<ArgumentException>(() => _responder.BuildResponse(new OcspCacheKey("00", _good, "SHA1"), RevocationStatus.Good));

    [Fact]
    public void Constructor_ResponderNotIssuedByCa_Throws() =>
        Assert.Throws<ArgumentException>(() => new OcspResponder([new OcspResponderEntry(_ca.Issuing, _rootResponder)], _statuses, _clock));

    [Fact]
    public async Task Respond_RoundTripsThroughOpenSsl_VerifiesAgainstChainAndShowsRevocation()
    {
        if (!OpenSsl.IsAvailable)
        {
            return; // xunit 2 has no runtime skip; the interop suite requires openssl anyway
        }
        using var directory = new TemporaryDirectory();
        var issuerFile = directory.Write("issuing.pem", _ca.Issuing.Pem);
        var chainFile = directory.Write("chain.pem", _ca.Hierarchy.ChainPem);
        var requestFile = Path.Combine(directory.Path, "request.der");
        var serialArgument = "0x" + _revoked.Hex;
        var (requestExit, requestOutput) = OpenSsl.Run("ocsp", "-issuer", issuerFile, "-serial", serialArgument, "-nonce", "-reqout", requestFile);
        Assert.True(requestExit == 0, requestOutput);

        var reply = await _responder.RespondAsync(File.ReadAllBytes(requestFile));
        var responseFile = directory.Write("response.der", reply.Der);

        // With -reqin alone openssl checks the response nonce against the request's (adding -serial would make a new request).
        var (exitCode, output) = OpenSsl.Run("ocsp", "-reqin", requestFile, "-respin", responseFile, "-CAfile", chainFile, "-resp_text");
        Assert.True(exitCode == 0, output);
        Assert.Contains("Response verify OK", output, StringComparison.Ordinal);
        Assert.Contains("Cert Status: revoked", output, StringComparison.Ordinal);
        Assert.Contains("Revocation Reason: keyCompromise", output, StringComparison.Ordinal);
        Assert.Contains($"Serial Number: {_revoked.Hex}", output, StringComparison.Ordinal);
        Assert.Contains("OCSP Nonce", output, StringComparison.Ordinal);
        Assert.DoesNotContain("WARNING", output, StringComparison.Ordinal);
    }

    private static CertificateID CertId(CertificateAuthority issuer, SerialNumber serial, string hashAlgorithm) =>
        new(new AlgorithmIdentifier(new DerObjectIdentifier(hashAlgorithm), DerNull.Instance), issuer.Certificate, serial.ToBouncyCastle());

    private static CertificateID RawCertId(CertificateAuthority issuer, SerialNumber serial, AlgorithmIdentifier algorithm)
    {
        var template = new CertificateID(algorithm, issuer.Certificate, serial.ToBouncyCastle());
        return new CertificateID(new CertID(algorithm, new DerOctetString(template.GetIssuerNameHash()),
            new DerOctetString(template.GetIssuerKeyHash()), new DerInteger(serial.ToBouncyCastle())));
    }

    private static byte[] Request(CertificateID[] certIds, byte[]? nonce = null)
    {
        var generator = new OcspReqGenerator();
        foreach (var certId in certIds)
        {
            generator.AddRequest(certId);
        }
        if (nonce is not null)
        {
            // RFC 8954 2.1: the extension value is Nonce ::= OCTET STRING.
            var extensions = new X509ExtensionsGenerator();
            extensions.AddExtension(OcspObjectIdentifiers.PkixOcspNonce, false, new DerOctetString(nonce));
            generator.SetRequestExtensions(extensions.Generate());
        }
        return generator.Generate().GetEncoded();
    }

    /// <summary>Checks the reply is a successful, correctly signed response from <paramref name="responder"/> for <paramref name="ca"/>.</summary>
    private static BasicOcspResp AssertSigned(OcspReply reply, OcspResponderCertificate responder, CertificateAuthority ca)
    {
        Assert.Equal(OcspReplyStatus.Successful, reply.Status);
        var response = new OcspResp(reply.Der);
        Assert.Equal(OcspRespStatus.Successful, response.Status);
        var basic = Assert.IsType<BasicOcspResp>(response.GetResponseObject());

        // RFC 6960 4.2.2.2: the signer is a delegated responder the CA issued, carried in the response.
        var certificate = Assert.Single(basic.GetCerts());
        Assert.Equal(responder.Der, certificate.GetEncoded());
        Assert.True(basic.Verify(certificate.GetPublicKey()));
        certificate.Verify(ca.Certificate.GetPublicKey());
        Assert.True(certificate.IssuerDN.Equivalent(ca.Subject));
        Assert.Contains(KeyPurposeID.id_kp_OCSPSigning.Id, certificate.GetExtendedKeyUsage().Select(p => p.Id));
        Assert.NotNull(certificate.GetExtensionValue(OcspObjectIdentifiers.PkixOcspNocheck));
        Assert.Equal("1.2.840.10045.4.3.2", basic.SignatureAlgorithm.Algorithm.Id); // ecdsa-with-SHA256

        // RFC 6960 4.2.2.3: responder identified by key hash.
        Assert.Equal(new RespID(certificate.GetPublicKey()), basic.ResponderId);
        Assert.NotNull(basic.ResponderId.ToAsn1Object().GetKeyHash());
        Assert.All(basic.Responses, r => Assert.NotNull(r.NextUpdate));
        return basic;
    }

    private static void AssertRefused(OcspReply reply, int expectedStatus)
    {
        Assert.Equal(expectedStatus, (int)reply.Status);
        var response = new OcspResp(reply.Der);
        Assert.Equal(expectedStatus, response.Status);
        Assert.Null(response.GetResponseObject());
        Assert.Null(reply.CacheKey);
        Assert.Null(reply.NextUpdate);
    }
}
