using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Nist;
using Org.BouncyCastle.Asn1.Ocsp;
using Org.BouncyCastle.Asn1.Oiw;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Ocsp;
using PkiService.Api.Features.Ocsp;
using PkiService.Api.Tests.Support;
using BcX509Certificate = Org.BouncyCastle.X509.X509Certificate;

namespace PkiService.Api.Tests.Features.Ocsp;

/// <summary>
/// The OCSP cache under hostile input (issue #10, point 1): requests it cannot answer from its tables must not grow
/// them, and its tables stay within <c>Ocsp:CacheMaxBytes</c> however many real certificates are asked about.
/// </summary>
public sealed class OcspResponseCacheTests
{
    // An OID under the IANA example arc: no OCSP extension the responder knows.
    private static readonly DerObjectIdentifier UnknownExtension = new("1.3.6.1.4.1.32473.1.1");

    [Fact]
    public async Task Post_PaddedRequestsWithUnknownExtension_AnsweredFromCacheWithoutGrowingIt()
    {
        using var factory = new PkiApiFactory();
        using var client = factory.CreateClient();
        var serial = await EnrollAsync(factory, "padded-flood");
        var issuer = OcspClient.Parse(await client.GetByteArrayAsync("/pki/ca.crt"));
        var plain = OcspClient.Request(issuer, serial);
        var first = await (await OcspClient.PostAsync(client, plain)).Content.ReadAsByteArrayAsync();
        var get = await client.GetAsync(GetPath(plain));
        var before = Usage(factory);
        Assert.Equal(1, before["replies"].Count);
        Assert.Equal(1, before["requests"].Count);

        for (var i = 0; i < 200; i++)
        {
            var padded = PaddedRequest(issuer, serial, 60 * 1024);
            var answer = await (await OcspClient.PostAsync(client, padded)).Content.ReadAsByteArrayAsync();
            Assert.Equal(first, answer); // the extension changes nothing in the answer: the cached reply, by its key
        }

        var after = Usage(factory);
        Assert.Equal(before["requests"], after["requests"]);
        Assert.Equal(before["replies"], after["replies"]);
        Assert.InRange(after["requests"].Bytes, 1, 1024);
        // Ordinary requests still come from the cache: same bytes by POST, same bytes and ETag by GET.
        Assert.Equal(first, await (await OcspClient.PostAsync(client, plain)).Content.ReadAsByteArrayAsync());
        var getAgain = await client.GetAsync(GetPath(plain));
        Assert.Equal(get.Headers.ETag, getAgain.Headers.ETag);
        Assert.Equal(await get.Content.ReadAsByteArrayAsync(), await getAgain.Content.ReadAsByteArrayAsync());
        Assert.Equal(first, await getAgain.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Post_UnknownSerialsIssuersAndNonces_LeaveEveryTableEmpty()
    {
        using var factory = new PkiApiFactory();
        using var client = factory.CreateClient();
        var issuer = OcspClient.Parse(await client.GetByteArrayAsync("/pki/ca.crt"));

        for (var i = 0; i < 300; i++)
        {
            var unknown = OcspClient.Request(issuer, "7F" + Convert.ToHexString(RandomNumberGenerator.GetBytes(15)));
            Assert.Equal("unknown", OcspClient.StatusOf(await (await OcspClient.PostAsync(client, unknown)).Content.ReadAsByteArrayAsync()));
        }
        for (var i = 0; i < 50; i++)
        {
            var foreign = await OcspClient.PostAsync(client, ForeignIssuerRequest());
            Assert.Equal(OcspRespStatus.Unauthorized, new OcspResp(await foreign.Content.ReadAsByteArrayAsync()).Status);
            var paddedUnknown = PaddedRequest(issuer, "7F" + Convert.ToHexString(RandomNumberGenerator.GetBytes(15)), 60 * 1024);
            Assert.Equal("unknown", OcspClient.StatusOf(await (await OcspClient.PostAsync(client, paddedUnknown)).Content.ReadAsByteArrayAsync()));
        }

        Assert.All(Usage(factory).Values, table =>
        {
            Assert.Equal(0, table.Count);
            Assert.Equal(0, table.Bytes);
        });
    }

    [Fact]
    public async Task Post_ManyDistinctCertificates_EveryTableStaysWithinCacheMaxBytes_AndKeepsTheHotReply()
    {
        // 16 KiB: 11 KiB of replies (about eight), 3 KiB of request bytes (about nine), 2 KiB of statuses (eight).
        using var factory = new PkiApiFactory(settings: new Dictionary<string, string?> { ["Ocsp:CacheMaxBytes"] = "16384" });
        using var client = factory.CreateClient();
        var issuer = OcspClient.Parse(await client.GetByteArrayAsync("/pki/ca.crt"));
        string[] hashes = [OcspClient.Sha1, OcspClient.Sha256, NistObjectIdentifiers.IdSha384.Id, NistObjectIdentifiers.IdSha512.Id];
        // A certificate a gateway asks about all the time, between the others.
        var hot = OcspClient.Request(issuer, await EnrollAsync(factory, "many-hot"));
        var hotAnswer = await (await OcspClient.PostAsync(client, hot)).Content.ReadAsByteArrayAsync();
        var answered = 0;

        for (var i = 0; i < 20; i++)
        {
            var serial = await EnrollAsync(factory, $"many-{i}");
            foreach (var hash in hashes)
            {
                var response = await OcspClient.PostAsync(client, OcspClient.Request(issuer, serial, hash));
                Assert.Equal("good", OcspClient.StatusOf(await response.Content.ReadAsByteArrayAsync()));
                answered++;
                // Read since the last sweep, so never swept: the same signed bytes every time (a new signature would differ).
                Assert.Equal(hotAnswer, await (await OcspClient.PostAsync(client, hot)).Content.ReadAsByteArrayAsync());
            }
            Assert.All(Usage(factory).Values, table => Assert.InRange(table.Bytes, 0, table.MaxBytes));
        }

        var usage = Usage(factory);
        Assert.Equal(80, answered);
        Assert.Equal(16384, usage.Values.Sum(t => t.MaxBytes));
        Assert.All(usage.Values, table => Assert.True(table.Evictions > 0, $"{table.Table} was swept"));
        Assert.InRange(usage["replies"].Count, 4, 12);
        // Still a cache: the last certificate asked about is answered from it, the same bytes twice.
        var last = OcspClient.Request(issuer, await EnrollAsync(factory, "many-last"));
        var once = await (await OcspClient.PostAsync(client, last)).Content.ReadAsByteArrayAsync();
        Assert.Equal(once, await (await OcspClient.PostAsync(client, last)).Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public void Start_CacheMaxBytesBelowMinimum_StopsNamingTheSetting()
    {
        using var factory = new PkiApiFactory(settings: new Dictionary<string, string?> { ["Ocsp:CacheMaxBytes"] = "1000" });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        var setting = error as InvalidOperationException ?? error.InnerException as InvalidOperationException;
        Assert.NotNull(setting);
        Assert.Contains("Ocsp:CacheMaxBytes = 1000", setting.Message, StringComparison.Ordinal);
    }

    private static Dictionary<string, OcspResponseCache.TableUsage> Usage(PkiApiFactory factory) =>
        factory.Services.GetRequiredService<OcspResponseCache>().Usage().ToDictionary(t => t.Table);

    private static string GetPath(byte[] request) => "/ocsp/" + Uri.EscapeDataString(Convert.ToBase64String(request));

    /// <summary>A request for one certificate, without nonce, carrying an unknown non-critical extension of <paramref name="padding"/> random octets.</summary>
    private static byte[] PaddedRequest(BcX509Certificate issuer, string serialHex, int padding)
    {
        var generator = new OcspReqGenerator();
        generator.AddRequest(new CertificateID(new AlgorithmIdentifier(OiwObjectIdentifiers.IdSha1, DerNull.Instance), issuer, new BigInteger(serialHex, 16)));
        generator.SetRequestExtensions(new X509Extensions(new Dictionary<DerObjectIdentifier, X509Extension>
        {
            [UnknownExtension] = new X509Extension(false, new DerOctetString(RandomNumberGenerator.GetBytes(padding))),
        }));
        return generator.Generate().GetEncoded();
    }

    /// <summary>A request about a CA this service does not hold (random issuer hashes).</summary>
    private static byte[] ForeignIssuerRequest()
    {
        var certId = new CertID(
            new AlgorithmIdentifier(OiwObjectIdentifiers.IdSha1, DerNull.Instance),
            new DerOctetString(RandomNumberGenerator.GetBytes(20)),
            new DerOctetString(RandomNumberGenerator.GetBytes(20)),
            new DerInteger(new BigInteger(1, RandomNumberGenerator.GetBytes(16))));
        var generator = new OcspReqGenerator();
        generator.AddRequest(new CertificateID(certId));
        return generator.Generate().GetEncoded();
    }

    private static async Task<string> EnrollAsync(PkiApiFactory factory, string commonName)
    {
        var token = await factory.CreateTokenAsync(commonName);
        var response = await factory.EnrollAsync(token, Csrs.P256(commonName));
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!.SerialNumber;
    }
}
