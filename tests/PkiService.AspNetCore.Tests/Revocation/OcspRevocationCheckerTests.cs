using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Oiw;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Ocsp;
using PkiService.AspNetCore.Revocation;
using PkiService.AspNetCore.Tests.Support;
using PkiService.AspNetCore.Trust;

namespace PkiService.AspNetCore.Tests.Revocation;

/// <summary>Ocsp mode: the responder's signature is checked, answers are cached until their nextUpdate.</summary>
public sealed class OcspRevocationCheckerTests : IAsyncLifetime
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
    public async Task Ocsp_RevokedAfterAGoodAnswerWasCached_StillAcceptedUntilItsNextUpdate()
    {
        await using var api = await ProtectedApi.StartAsync(_pki, new Dictionary<string, string?> { ["PkiClient:Revocation"] = "Ocsp" });
        using var certificate = await _pki.EnrollAsync("cached-good");
        using var client = api.CreateClient(certificate);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/whoami")).StatusCode);

        await _pki.RevokeAsync(certificate);
        using var afterRevocation = await client.GetAsync("/whoami");

        // Documented: with Ocsp a revocation bites only when the cached answer's nextUpdate passes (Push: at once).
        Assert.Equal(HttpStatusCode.OK, afterRevocation.StatusCode);
    }

    [Fact]
    public async Task Verify_ServiceAnswer_IsAccepted()
    {
        using var certificate = await _pki.EnrollAsync("asked");
        var id = CertificateIdOf(certificate);

        var answer = OcspRevocationChecker.Verify(await AskServiceAsync(id), id, _anchors, DateTimeOffset.UtcNow);

        Assert.Equal(RevocationStatus.Good, answer.Status);
        Assert.True(answer.NextUpdate > DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task Verify_AnswerForAnotherCertificate_Refused()
    {
        using var asked = await _pki.EnrollAsync("asked");
        using var other = await _pki.EnrollAsync("other");

        var answerForOther = await AskServiceAsync(CertificateIdOf(other));

        var error = Assert.Throws<InvalidDataException>(() => OcspRevocationChecker.Verify(answerForOther, CertificateIdOf(asked), _anchors, DateTimeOffset.UtcNow));
        Assert.Contains("does not answer for the certificate", error.Message);
    }

    [Fact]
    public async Task Verify_ResponderNotIssuedByTheIssuingCa_Refused()
    {
        using var certificate = await _pki.EnrollAsync("forged-answer");
        var id = CertificateIdOf(certificate);
        // A responder certificate with the right names and OCSPSigning, but self-made.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=OCSP Responder", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.9")], true));
        using var issuing = X509CertificateLoader.LoadCertificate(_pki.IssuingDer);
        using var fakeIssuerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var fakeIssuerRequest = new CertificateRequest(issuing.SubjectName, fakeIssuerKey, HashAlgorithmName.SHA256);
        fakeIssuerRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var fakeIssuer = fakeIssuerRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        using var responder = request.Create(fakeIssuer, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(20), [0x01]);
        var responderBc = new Org.BouncyCastle.X509.X509CertificateParser().ReadCertificate(responder.RawData);
        var generator = new BasicOcspRespGenerator(new RespID(responderBc.SubjectDN));
        generator.AddResponse(id, CertificateStatus.Good, DateTime.UtcNow, DateTime.UtcNow.AddHours(1), null);
        var signer = new Asn1SignatureFactory("SHA256WITHECDSA", Org.BouncyCastle.Security.PrivateKeyFactory.CreateKey(key.ExportPkcs8PrivateKey()));
        var basic = generator.Generate(signer, [responderBc], DateTime.UtcNow);
        var forged = new OCSPRespGenerator().Generate(OcspRespStatus.Successful, basic).GetEncoded();

        var error = Assert.Throws<InvalidDataException>(() => OcspRevocationChecker.Verify(forged, id, _anchors, DateTimeOffset.UtcNow));
        Assert.Contains("not issued by the issuing CA", error.Message);
    }

    private CertificateID CertificateIdOf(X509Certificate2 certificate) =>
        new(new AlgorithmIdentifier(OiwObjectIdentifiers.IdSha1, DerNull.Instance), _anchors.IssuingBouncyCastle,
            new Org.BouncyCastle.Math.BigInteger(1, certificate.SerialNumberBytes.ToArray()));

    private async Task<byte[]> AskServiceAsync(CertificateID id)
    {
        var generator = new OcspReqGenerator();
        generator.AddRequest(id);
        using var client = _pki.Factory.CreateClient();
        using var content = new ByteArrayContent(generator.Generate().GetEncoded());
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/ocsp-request");
        using var response = await client.PostAsync("/ocsp", content);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsByteArrayAsync();
    }
}
