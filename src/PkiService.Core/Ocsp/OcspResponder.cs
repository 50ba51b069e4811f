using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Nist;
using Org.BouncyCastle.Asn1.Ocsp;
using Org.BouncyCastle.Asn1.Oiw;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Ocsp;
using PkiService.Core.Primitives;
using PkiService.Core.Revocation;
using BcCertificateStatus = Org.BouncyCastle.Ocsp.CertificateStatus;
using BcX509Certificate = Org.BouncyCastle.X509.X509Certificate;

namespace PkiService.Core.Ocsp;

/// <summary>
/// An RFC 6960 OCSP responder for the CAs it holds, following the RFC 5019 lightweight profile and RFC 8954 nonces.
/// It turns the DER of an OCSPRequest into the DER of an OCSPResponse and never throws on what a client sends:
/// anything it cannot read is answered with <c>malformedRequest</c>.
/// </summary>
/// <remarks>
/// <para>Caching: <see cref="Parse"/> tells the caller, before any lookup or signature, whether the request is the
/// cacheable kind (<see cref="ParsedOcspRequest.CacheKey"/>); <see cref="RespondAsync(ParsedOcspRequest, CancellationToken)"/>
/// sets <see cref="OcspReply.CacheKey"/> on replies that may be stored; <see cref="BuildResponse"/> signs a response for a
/// (CA, serial, status) without any request, so responses can be built ahead when a status changes.</para>
/// <para>The set of entries is fixed for the life of an instance: when a responder certificate is renewed, build a new
/// responder, swap it in, and drop cached replies.</para>
/// </remarks>
public sealed partial class OcspResponder
{
    /// <summary>Most single requests answered in one OCSPRequest; more is refused as <c>malformedRequest</c>.</summary>
    public const int MaxSingleRequests = 10;

    /// <summary>RFC 8954 2.1: a nonce is 1 to 32 octets.</summary>
    public const int MaxNonceOctets = 32;

    /// <summary>Largest request read (64 KiB); a larger one is <c>malformedRequest</c>.</summary>
    public const int MaxRequestOctets = 64 * 1024;

    /// <summary>
    /// Largest request that can be <see cref="ParsedOcspRequest.IsPlainSingleRequest"/>. The largest plain request there
    /// is (SHA-512 CertID with NULL parameters, a 20-octet serial, an explicit v1 version) is 190 octets; the usual
    /// SHA-1 one with a 16-octet serial is about 80.
    /// </summary>
    public const int MaxPlainRequestOctets = 256;

    /// <summary>Default distance from thisUpdate to nextUpdate: one hour.</summary>
    public static readonly TimeSpan DefaultResponseValidity = TimeSpan.FromHours(1);

    /// <summary>Appended to a cache key's hash name when the CertID's AlgorithmIdentifier has no parameters.</summary>
    private const string NoParametersSuffix = "-NOPARAMS";

    private static readonly HashAlgorithm[] _hashAlgorithms =
    [
        new(OiwObjectIdentifiers.IdSha1, "SHA1", HashAlgorithmName.SHA1),
        new(NistObjectIdentifiers.IdSha256, "SHA256", HashAlgorithmName.SHA256),
        new(NistObjectIdentifiers.IdSha384, "SHA384", HashAlgorithmName.SHA384),
        new(NistObjectIdentifiers.IdSha512, "SHA512", HashAlgorithmName.SHA512),
    ];

    /// <summary>
    /// Every <see cref="OcspCacheKey.HashAlgorithm"/> a key can carry, so that a cache can drop all replies about one
    /// certificate by key.
    /// </summary>
    public static readonly IReadOnlyList<string> CacheKeyHashAlgorithms =
        [.. _hashAlgorithms.SelectMany(a => new[] { a.Name, a.NoParametersName })];

    private static readonly byte[] _malformedRequest = EncodeRejection(OcspReplyStatus.MalformedRequest);
    private static readonly byte[] _internalError = EncodeRejection(OcspReplyStatus.InternalError);
    private static readonly byte[] _unauthorized = EncodeRejection(OcspReplyStatus.Unauthorized);

    private readonly IReadOnlyList<Issuer> _issuers;
    private readonly Dictionary<string, Issuer> _issuersByCertIdHashes = new(StringComparer.Ordinal);
    private readonly ICertificateStatusSource _statusSource;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _responseValidity;
    private readonly ILogger _logger;

    /// <param name="entries">The CAs answered for, each with its delegated responder; at least one.</param>
    /// <param name="statusSource">Looks certificate statuses up.</param>
    /// <param name="timeProvider">Supplies producedAt and thisUpdate.</param>
    /// <param name="responseValidity">nextUpdate minus thisUpdate; <see cref="DefaultResponseValidity"/> when null.</param>
    /// <param name="logger">Logs refused requests and lookup failures; none when null.</param>
    public OcspResponder(
        IEnumerable<OcspResponderEntry> entries,
        ICertificateStatusSource statusSource,
        TimeProvider timeProvider,
        TimeSpan? responseValidity = null,
        ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(statusSource);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _statusSource = statusSource;
        _timeProvider = timeProvider;
        _responseValidity = responseValidity ?? DefaultResponseValidity;
        if (_responseValidity <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(responseValidity), responseValidity, "Responses need a positive validity.");
        }
        _logger = logger ?? NullLogger.Instance;

        var issuers = new List<Issuer>();
        foreach (var entry in entries)
        {
            ArgumentNullException.ThrowIfNull(entry);
            var issuer = new Issuer(entry);
            if (!entry.Responder.Certificate.IssuerDN.Equivalent(entry.CaCertificate.SubjectDN)
                || !entry.Responder.Certificate.IsSignatureValid(entry.CaCertificate.GetPublicKey()))
            {
                // RFC 6960 4.2.2.2: a delegated responder must be issued directly by the CA it answers for.
                throw new ArgumentException($"The OCSP responder certificate for {entry.CaCertificate.SubjectDN} was not issued by that CA.", nameof(entries));
            }
            foreach (var algorithm in _hashAlgorithms)
            {
                _issuersByCertIdHashes[IssuerLookupKey(algorithm.Oid, issuer.NameHash(algorithm), issuer.KeyHash(algorithm))] = issuer;
            }
            issuers.Add(issuer);
        }
        if (issuers.Count == 0)
        {
            throw new ArgumentException("An OCSP responder needs at least one CA to answer for.", nameof(entries));
        }
        _issuers = issuers;
    }

    /// <summary>nextUpdate minus thisUpdate on every single response.</summary>
    public TimeSpan ResponseValidity => _responseValidity;

    /// <summary>
    /// Reads an OCSPRequest without looking anything up or signing. Never throws; a request that must be refused
    /// comes back with <see cref="ParsedOcspRequest.Rejection"/> set.
    /// </summary>
    public ParsedOcspRequest Parse(ReadOnlySpan<byte> requestDer)
    {
        if (requestDer.IsEmpty || requestDer.Length > MaxRequestOctets)
        {
            return Reject(OcspReplyStatus.MalformedRequest, "empty or larger than 64 KiB");
        }
        OcspRequest asn1;
        OcspReq request;
        Req[] singles;
        X509Extensions? extensions;
        try
        {
            // FromByteArray refuses trailing bytes after the request, so truncated and padded input both fail here.
            asn1 = OcspRequest.GetInstance(Asn1Object.FromByteArray(requestDer.ToArray()));
            request = new OcspReq(asn1);
            singles = request.GetRequestList();
            extensions = request.RequestExtensions;
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            return Reject(OcspReplyStatus.MalformedRequest, "not a DER OCSPRequest");
        }

        if (singles.Length == 0 || singles.Length > MaxSingleRequests)
        {
            return Reject(OcspReplyStatus.MalformedRequest, $"{singles.Length} certificates asked about; 1 to {MaxSingleRequests} are answered");
        }

        byte[]? nonceExtensionValue = null;
        var nonce = extensions?.GetExtension(OcspObjectIdentifiers.PkixOcspNonce);
        if (nonce is not null)
        {
            nonceExtensionValue = nonce.Value.GetOctets();
            var length = NonceLength(nonceExtensionValue);
            if (length is < 1 or > MaxNonceOctets)
            {
                // RFC 8954 2.1: a nonce of 0 or more than 32 octets must be refused with malformedRequest.
                return Reject(OcspReplyStatus.MalformedRequest, $"nonce of {length} octets");
            }
        }

        var questions = new List<Question>(singles.Length);
        Issuer? issuer = null;
        foreach (var single in singles)
        {
            CertificateID certId;
            HashAlgorithm? algorithm;
            Issuer? match;
            try
            {
                certId = single.GetCertID();
                algorithm = Array.Find(_hashAlgorithms, a => a.Oid.Equals(certId.ToAsn1Object().HashAlgorithm.Algorithm));
                match = algorithm is null
                    ? null
                    : _issuersByCertIdHashes.GetValueOrDefault(IssuerLookupKey(algorithm.Oid, certId.GetIssuerNameHash(), certId.GetIssuerKeyHash()));
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                return Reject(OcspReplyStatus.MalformedRequest, "unreadable CertID");
            }
            if (match is null || algorithm is null)
            {
                // RFC 6960 2.3: unauthorized when the responder is not authoritative for the certificate's issuer.
                return Reject(OcspReplyStatus.Unauthorized, "issuer not held or CertID hash not supported");
            }
            if (issuer is not null && !ReferenceEquals(issuer, match))
            {
                // One response has one signer, and each delegated responder speaks only for its own CA (RFC 6960 4.2.2.2).
                return Reject(OcspReplyStatus.Unauthorized, "certificates of more than one CA in one request");
            }
            issuer = match;
            var serial = ReadSerial(certId);
            var parametersAbsent = certId.ToAsn1Object().HashAlgorithm.Parameters is null;
            questions.Add(new Question(certId, serial, parametersAbsent ? algorithm.NoParametersName : algorithm.Name));
        }

        OcspCacheKey? cacheKey = questions.Count == 1 && nonceExtensionValue is null && questions[0].SerialNumber is { } only
            ? new OcspCacheKey(issuer!.Fingerprint, only, questions[0].HashAlgorithm)
            : null;
        var plain = cacheKey is not null && IsPlain(requestDer, asn1, request, singles[0]);
        return new ParsedOcspRequest(null, cacheKey, issuer, questions, nonceExtensionValue, plain);
    }

    /// <summary>
    /// Whether <paramref name="requestDer"/> is the one plain encoding of its question: small, version absent or v1, no
    /// requestorName, no signature, no extension at all, CertID hash parameters absent or NULL, and exactly the DER of
    /// what was read (no BER lengths). Each cache key then has at most two such encodings (with and without the
    /// explicit version), so remembering these bytes cannot be made to grow by varying padding or encodings.
    /// </summary>
    private static bool IsPlain(ReadOnlySpan<byte> requestDer, OcspRequest asn1, OcspReq request, Req single)
    {
        if (requestDer.Length > MaxPlainRequestOctets || request.Version != 1 || request.RequestorName is not null
            || request.IsSigned || request.RequestExtensions is not null || single.SingleRequestExtensions is not null)
        {
            return false;
        }
        var parameters = single.GetCertID().ToAsn1Object().HashAlgorithm.Parameters;
        if (parameters is not null && parameters is not DerNull)
        {
            return false;
        }
        try
        {
            return requestDer.SequenceEqual(asn1.GetEncoded(Asn1Encodable.Der));
        }
        catch (Exception exception) when (exception is IOException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Reads, looks up and signs in one step. Never throws except for cancellation.</summary>
    public ValueTask<OcspReply> RespondAsync(ReadOnlyMemory<byte> requestDer, CancellationToken cancellationToken = default) =>
        RespondAsync(Parse(requestDer.Span), cancellationToken);

    /// <summary>
    /// Answers a request read by <see cref="Parse"/>: looks each certificate up and signs one BasicOCSPResponse with the
    /// CA's delegated responder. Never throws except for cancellation; a failed lookup or signature gives <c>internalError</c>.
    /// </summary>
    public async ValueTask<OcspReply> RespondAsync(ParsedOcspRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Rejection is { } rejection)
        {
            return Rejection(rejection);
        }
        var issuer = request.Issuer!;
        try
        {
            var answers = new List<(CertificateID CertId, RevocationStatus Status)>(request.Questions.Count);
            foreach (var question in request.Questions)
            {
                // A serial that is not a positive integer of at most 20 octets cannot be one we issued (RFC 5280 4.1.2.2).
                var status = question.SerialNumber is { } serial
                    ? await _statusSource.GetStatusAsync(issuer.Fingerprint, serial, cancellationToken).ConfigureAwait(false)
                    : RevocationStatus.Unknown;
                answers.Add((question.CertId, status));
            }
            var cacheKey = request.CacheKey is { } key && answers[0].Status.State != RevocationState.Unknown ? key : (OcspCacheKey?)null;
            return Sign(issuer, answers, request.NonceExtensionValue, cacheKey);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogResponseFailed(_logger, exception);
            return Rejection(OcspReplyStatus.InternalError);
        }
    }

    /// <summary>
    /// Signs a response about one certificate without a request, for the cache described by <paramref name="key"/>:
    /// the CertID is rebuilt from the key's CA and hash algorithm. Throws <see cref="ArgumentException"/> for a CA
    /// this responder does not hold or an unknown hash algorithm.
    /// </summary>
    public OcspReply BuildResponse(OcspCacheKey key, RevocationStatus status)
    {
        var issuer = _issuers.FirstOrDefault(i => string.Equals(i.Fingerprint, key.IssuerFingerprint, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"This responder holds no CA with fingerprint {key.IssuerFingerprint}.", nameof(key));
        var name = key.HashAlgorithm ?? string.Empty;
        var parametersAbsent = name.EndsWith(NoParametersSuffix, StringComparison.Ordinal);
        var algorithmName = parametersAbsent ? name[..^NoParametersSuffix.Length] : name;
        var algorithm = Array.Find(_hashAlgorithms, a => a.Name == algorithmName)
            ?? throw new ArgumentException($"'{key.HashAlgorithm}' is not a CertID hash; use SHA1, SHA256, SHA384 or SHA512, optionally with {NoParametersSuffix}.", nameof(key));
        var certId = new CertificateID(new CertID(
            parametersAbsent ? new AlgorithmIdentifier(algorithm.Oid) : new AlgorithmIdentifier(algorithm.Oid, DerNull.Instance),
            new DerOctetString(issuer.NameHash(algorithm)),
            new DerOctetString(issuer.KeyHash(algorithm)),
            new DerInteger(key.SerialNumber.ToBouncyCastle())));
        return Sign(issuer, [(certId, status)], nonceExtensionValue: null, status.State == RevocationState.Unknown ? null : key);
    }

    /// <summary>An unsigned OCSPResponse with the given non-successful status, for refusals made before the responder is reached.</summary>
    public static OcspReply Rejection(OcspReplyStatus status) => status switch
    {
        OcspReplyStatus.MalformedRequest => new OcspReply(status, (byte[])_malformedRequest.Clone(), null, null, null),
        OcspReplyStatus.InternalError => new OcspReply(status, (byte[])_internalError.Clone(), null, null, null),
        OcspReplyStatus.Unauthorized => new OcspReply(status, (byte[])_unauthorized.Clone(), null, null, null),
        OcspReplyStatus.Successful => throw new ArgumentOutOfRangeException(nameof(status), status, "A successful response must be signed."),
        _ => new OcspReply(status, EncodeRejection(status), null, null, null),
    };

    private OcspReply Sign(Issuer issuer, IReadOnlyList<(CertificateID CertId, RevocationStatus Status)> answers, byte[]? nonceExtensionValue, OcspCacheKey? cacheKey)
    {
        var responder = issuer.Responder;
        var now = TruncateToSeconds(_timeProvider.GetUtcNow());
        var nextUpdate = now + _responseValidity;
        if (nextUpdate > responder.NotAfter)
        {
            nextUpdate = responder.NotAfter; // a response must not outlive the certificate that vouches for its signature
        }

        // RFC 6960 4.2.2.3 / RFC 5019 2.2.2: the responder is identified by the SHA-1 hash of its public key.
        var generator = new BasicOcspRespGenerator(responder.Certificate.GetPublicKey());
        foreach (var (certId, status) in answers)
        {
            // RFC 5019 2.2.4: thisUpdate and nextUpdate on every single response.
            generator.AddResponse(certId, ToBouncyCastle(status), now.UtcDateTime, nextUpdate.UtcDateTime, null);
        }
        if (nonceExtensionValue is not null)
        {
            // RFC 8954 2.1: echo the request's nonce unchanged, as a non-critical response extension.
            var extensions = new X509ExtensionsGenerator();
            extensions.AddExtension(OcspObjectIdentifiers.PkixOcspNonce, false, nonceExtensionValue);
            generator.SetResponseExtensions(extensions.Generate());
        }
        // RFC 6960 4.2.2.2: the delegated responder certificate travels in the response so clients can check it.
        var basic = generator.Generate(responder.SignatureFactory, [responder.Certificate], now.UtcDateTime);
        var response = new OCSPRespGenerator().Generate(OcspRespStatus.Successful, basic);
        return new OcspReply(OcspReplyStatus.Successful, response.GetEncoded(), now, nextUpdate, cacheKey, answers.Select(a => a.Status.State).ToList());
    }

    private static BcCertificateStatus? ToBouncyCastle(RevocationStatus status) => status.State switch
    {
        RevocationState.Good => BcCertificateStatus.Good,
        RevocationState.Unknown => new UnknownStatus(),
        // RFC 5280 5.3.1 (and CA/B Forum practice): unspecified is expressed by leaving revocationReason out.
        RevocationState.Revoked => new RevokedStatus(new RevokedInfo(
            new Asn1GeneralizedTime(TruncateToSeconds(status.RevokedAt!.Value).UtcDateTime),
            status.Reason is null or RevocationReason.Unspecified ? null : new CrlReason(status.Reason.Value.ToCrlReasonCode()))),
        _ => throw new ArgumentOutOfRangeException(nameof(status), status.State, "Unknown revocation state."),
    };

    private ParsedOcspRequest Reject(OcspReplyStatus status, string why)
    {
        LogRequestRefused(_logger, status, why);
        return new ParsedOcspRequest(status, null, null, [], null, false);
    }

    /// <summary>RFC 8954 2.1: the extension holds Nonce ::= OCTET STRING; some older clients put the raw octets there, so accept both.</summary>
    private static int NonceLength(byte[] extensionValue)
    {
        try
        {
            if (Asn1Object.FromByteArray(extensionValue) is Asn1OctetString wrapped)
            {
                return wrapped.GetOctets().Length;
            }
        }
        catch (Exception exception) when (exception is IOException or ArgumentException or InvalidOperationException)
        {
            // not DER: fall through and measure the raw octets
        }
        return extensionValue.Length;
    }

    private static SerialNumber? ReadSerial(CertificateID certId)
    {
        var value = certId.SerialNumber;
        if (value.SignValue <= 0 || value.ToByteArrayUnsigned().Length > SerialNumber.MaxOctets)
        {
            return null;
        }
        return SerialNumber.FromBouncyCastle(value);
    }

    private static string IssuerLookupKey(DerObjectIdentifier algorithm, byte[] nameHash, byte[] keyHash) =>
        $"{algorithm.Id}|{Convert.ToHexString(nameHash)}|{Convert.ToHexString(keyHash)}";

    private static byte[] EncodeRejection(OcspReplyStatus status) =>
        new OcspResponse(new OcspResponseStatus((int)status), null).GetEncoded(Asn1Encodable.Der);

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset value) =>
        new(value.UtcTicks - value.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero);

    [LoggerMessage(EventId = 1201, EventName = "OcspRequestRefused", Level = LogLevel.Debug,
        Message = "OCSP request refused with {Status}: {Reason}")]
    private static partial void LogRequestRefused(ILogger logger, OcspReplyStatus status, string reason);

    [LoggerMessage(EventId = 1202, EventName = "OcspResponseFailed", Level = LogLevel.Error,
        Message = "OCSP response could not be built; answered internalError")]
    private static partial void LogResponseFailed(ILogger logger, Exception exception);

    internal sealed record HashAlgorithm(DerObjectIdentifier Oid, string Name, HashAlgorithmName DotNetName)
    {
        /// <summary>The cache key's name when the CertID's AlgorithmIdentifier has no parameters (built once, not per request).</summary>
        public string NoParametersName { get; } = Name + NoParametersSuffix;
    }

    /// <summary>A CA answered for, with its CertID hashes (RFC 6960 4.1.1) computed once per algorithm.</summary>
    internal sealed class Issuer
    {
        private readonly byte[] _subjectDer;
        private readonly byte[] _publicKeyBits;

        public Issuer(OcspResponderEntry entry)
        {
            ArgumentNullException.ThrowIfNull(entry.CaCertificate);
            ArgumentNullException.ThrowIfNull(entry.Responder);
            Responder = entry.Responder;
            var der = entry.CaCertificate.GetEncoded();
            Fingerprint = Convert.ToHexString(SHA256.HashData(der));
            using var certificate = X509CertificateLoader.LoadCertificate(der);
            // RFC 6960 4.1.1: issuerNameHash covers the DER of the issuer's subject name; issuerKeyHash the subjectPublicKey
            // BIT STRING value, without tag, length and unused-bits octet.
            _subjectDer = certificate.SubjectName.RawData;
            _publicKeyBits = certificate.PublicKey.EncodedKeyValue.RawData;
        }

        public OcspResponderCertificate Responder { get; }

        public string Fingerprint { get; }

        public byte[] NameHash(HashAlgorithm algorithm) => Hash(algorithm, _subjectDer);

        public byte[] KeyHash(HashAlgorithm algorithm) => Hash(algorithm, _publicKeyBits);

        private static byte[] Hash(HashAlgorithm algorithm, byte[] data) => CryptographicOperations.HashData(algorithm.DotNetName, data);
    }

    internal sealed record Question(CertificateID CertId, SerialNumber? SerialNumber, string HashAlgorithm);
}

/// <summary>
/// An OCSPRequest as <see cref="OcspResponder.Parse"/> read it: either refused, or the certificates to answer for
/// and whether the answer may come from a cache.
/// </summary>
public sealed class ParsedOcspRequest
{
    internal ParsedOcspRequest(
        OcspReplyStatus? rejection,
        OcspCacheKey? cacheKey,
        OcspResponder.Issuer? issuer,
        IReadOnlyList<OcspResponder.Question> questions,
        byte[]? nonceExtensionValue,
        bool isPlainSingleRequest)
    {
        Rejection = rejection;
        CacheKey = cacheKey;
        Issuer = issuer;
        Questions = questions;
        NonceExtensionValue = nonceExtensionValue;
        IsPlainSingleRequest = isPlainSingleRequest;
    }

    /// <summary><c>malformedRequest</c> or <c>unauthorized</c> when the request is refused; null when it will be answered.</summary>
    public OcspReplyStatus? Rejection { get; }

    /// <summary>
    /// Set when a cached reply with this key answers the request exactly: one certificate, no nonce (RFC 5019 2.1.1).
    /// </summary>
    public OcspCacheKey? CacheKey { get; }

    /// <summary>
    /// Set when the request has a <see cref="CacheKey"/> and is in its plain form: at most
    /// <see cref="OcspResponder.MaxPlainRequestOctets"/>, canonical DER, no extension, requestorName or signature, CertID
    /// hash parameters absent or NULL. Only such bytes may be remembered to skip parsing (a request padded with an
    /// unknown extension still has a cache key, but not this: its bytes are one of endlessly many for the same key).
    /// </summary>
    public bool IsPlainSingleRequest { get; }

    /// <summary>Whether the request carried an RFC 8954 nonce (its reply is then never cacheable).</summary>
    public bool HasNonce => NonceExtensionValue is not null;

    /// <summary>How many certificates the request asks about (0 when refused).</summary>
    public int CertificateCount => Questions.Count;

    internal OcspResponder.Issuer? Issuer { get; }

    internal IReadOnlyList<OcspResponder.Question> Questions { get; }

    internal byte[]? NonceExtensionValue { get; }
}
