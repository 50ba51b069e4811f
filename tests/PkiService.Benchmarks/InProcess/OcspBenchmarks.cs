using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Options;
using PkiService.Api.Features.Ocsp;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Oiw;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Ocsp;
using PkiService.Core.Ocsp;
using PkiService.Core.Primitives;
using PkiService.Core.Revocation;

namespace PkiService.Benchmarks.InProcess;

/// <summary>OCSP: a response signed per request (nonce), a pre-built response, a cache hit, and the request parse a cache hit skips.</summary>
[MemoryDiagnoser]
public class OcspBenchmarks
{
    private BenchmarkCa _ca = null!;
    private OcspResponderCertificate _responderCertificate = null!;
    private OcspResponder _responder = null!;
    private byte[] _requestWithNonce = null!;
    private byte[] _requestWithoutNonce = null!;
    private OcspCacheKey _key;
    private OcspResponseCache _cache = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ca = new BenchmarkCa();
        _responderCertificate = OcspResponderCertificate.Create(_ca.Hierarchy.Issuing, TimeSpan.FromDays(30), TimeProvider.System);
        _responder = new OcspResponder([new OcspResponderEntry(_ca.Hierarchy.Issuing, _responderCertificate)], new AlwaysGood(), TimeProvider.System);
        var serial = SerialNumber.NewRandom();
        _requestWithoutNonce = Request(serial, nonce: false);
        _requestWithNonce = Request(serial, nonce: true);
        _key = _responder.Parse(_requestWithoutNonce).CacheKey!.Value;
        _cache = new OcspResponseCache(Options.Create(new OcspOptions()));
        _cache.Add(_key, _responder.BuildResponse(_key, RevocationStatus.Good), _cache.Generation);
        _cache.RememberRequest(_requestWithoutNonce, _key);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _responderCertificate.Dispose();
        _ca.Dispose();
    }

    [Benchmark(Description = "parse request (what a cache hit skips)")]
    public ParsedOcspRequest Parse() => _responder.Parse(_requestWithoutNonce);

    [Benchmark(Description = "cache hit: the same request bytes seen before")]
    public OcspResponseCache.Entry CacheHit() =>
        _cache.TryGetByRequest(_requestWithoutNonce, DateTimeOffset.UtcNow, out var entry) ? entry : throw new InvalidOperationException("cache miss");

    [Benchmark(Description = "build + sign response (pre-built path)")]
    public OcspReply BuildResponse() => _responder.BuildResponse(_key, RevocationStatus.Good);

    [Benchmark(Description = "answer request with nonce (parse, look up, sign)")]
    public ValueTask<OcspReply> AnswerWithNonce() => _responder.RespondAsync(_requestWithNonce);

    private byte[] Request(SerialNumber serial, bool nonce)
    {
        var generator = new OcspReqGenerator();
        var algorithm = new AlgorithmIdentifier(OiwObjectIdentifiers.IdSha1, DerNull.Instance);
        generator.AddRequest(new CertificateID(algorithm, _ca.Hierarchy.Issuing.Certificate, serial.ToBouncyCastle()));
        if (nonce)
        {
            var value = new DerOctetString(new DerOctetString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)));
            generator.SetRequestExtensions(new X509Extensions(new Dictionary<DerObjectIdentifier, X509Extension>
            {
                [Org.BouncyCastle.Asn1.Ocsp.OcspObjectIdentifiers.PkixOcspNonce] = new X509Extension(false, value),
            }));
        }
        return generator.Generate().GetEncoded();
    }

    private sealed class AlwaysGood : ICertificateStatusSource
    {
        public ValueTask<RevocationStatus> GetStatusAsync(string issuerFingerprint, SerialNumber serialNumber, CancellationToken cancellationToken) =>
            ValueTask.FromResult(RevocationStatus.Good);
    }
}
