using System.Net.Http.Headers;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Nist;
using Org.BouncyCastle.Asn1.Oiw;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Ocsp;
using Org.BouncyCastle.X509;

namespace PkiService.Api.Tests.Support;

/// <summary>An OCSP client built on BouncyCastle's request generator and response parser.</summary>
public static class OcspClient
{
    public static readonly string Sha1 = OiwObjectIdentifiers.IdSha1.Id;
    public static readonly string Sha256 = NistObjectIdentifiers.IdSha256.Id;

    public static byte[] Request(X509Certificate issuer, string serialHex, string? hashAlgorithmOid = null)
    {
        var generator = new OcspReqGenerator();
        var algorithm = new AlgorithmIdentifier(new DerObjectIdentifier(hashAlgorithmOid ?? Sha1), DerNull.Instance);
        generator.AddRequest(new CertificateID(algorithm, issuer, new BigInteger(serialHex, 16)));
        return generator.Generate().GetEncoded();
    }

    public static async Task<HttpResponseMessage> PostAsync(HttpClient client, byte[] request)
    {
        var content = new ByteArrayContent(request);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/ocsp-request");
        return await client.PostAsync("/ocsp", content);
    }

    /// <summary>The single response's status: "good", "revoked:&lt;reason code&gt;" or "unknown".</summary>
    public static string StatusOf(byte[] responseDer)
    {
        var response = new OcspResp(responseDer);
        Assert.Equal(OcspRespStatus.Successful, response.Status);
        var basic = (BasicOcspResp)response.GetResponseObject();
        Assert.True(basic.Verify(basic.GetCerts()[0].GetPublicKey()), "response signature verifies with the included responder certificate");
        var single = Assert.Single(basic.Responses);
        return single.GetCertStatus() switch
        {
            null => "good",
            RevokedStatus revoked => $"revoked:{(revoked.HasRevocationReason ? revoked.RevocationReason : -1)}",
            UnknownStatus => "unknown",
            var other => other.GetType().Name,
        };
    }

    public static X509Certificate Parse(byte[] der) => new X509CertificateParser().ReadCertificate(der);
}
