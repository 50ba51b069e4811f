using System.Collections.Concurrent;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Oiw;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Ocsp;
using PkiService.AspNetCore.Identity;
using PkiService.AspNetCore.Service;
using PkiService.AspNetCore.Trust;

namespace PkiService.AspNetCore.Revocation;

/// <summary>
/// <see cref="PkiRevocationMode.Ocsp"/>: asks PkiService's responder (<c>/ocsp</c>, RFC 6960) per certificate and
/// caches each answer until its nextUpdate (<c>Ocsp:ResponseValidity</c> on the service, an hour by default), so a
/// revocation bites only when the cached answer runs out: slower than <see cref="PkiRevocationMode.Push"/>.
/// The cache holds at most <c>PkiClient:OcspCacheSize</c> answers.
/// </summary>
internal sealed partial class OcspRevocationChecker(
    PkiClientSettings settings,
    PkiServiceClient client,
    TrustAnchorStore anchors,
    TimeProvider time,
    ILogger<OcspRevocationChecker> logger) : IRevocationChecker
{
    /// <summary>id-kp-OCSPSigning (RFC 6960 4.2.2.2): a delegated responder must carry it.</summary>
    private const string OcspSigningOid = "1.3.6.1.5.5.7.3.9";

    /// <summary>Allowed clock difference for thisUpdate in the future (RFC 6960 3.2 (5)).</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, Answer> _cache = new(StringComparer.Ordinal);
    private volatile string? _lastError;

    internal sealed record Answer(RevocationStatus Status, DateTimeOffset NextUpdate);

    public RevocationStatus Check(ClientCertificateInfo certificate)
    {
        if (Cached(certificate.SerialNumber) is { } status)
        {
            return status;
        }
        if (Request(certificate.SerialNumber) is not { } request)
        {
            return RevocationStatus.Unknown;
        }
        try
        {
            return Accept(certificate.SerialNumber, request, client.PostOcsp(request.Der));
        }
        catch (Exception error) when (error is HttpRequestException or IOException or OperationCanceledException)
        {
            return Failed(error.Message);
        }
    }

    public async ValueTask<RevocationStatus> CheckAsync(ClientCertificateInfo certificate, CancellationToken cancellationToken)
    {
        if (Cached(certificate.SerialNumber) is { } status)
        {
            return status;
        }
        if (Request(certificate.SerialNumber) is not { } request)
        {
            return RevocationStatus.Unknown;
        }
        try
        {
            return Accept(certificate.SerialNumber, request, await client.PostOcspAsync(request.Der, cancellationToken));
        }
        catch (Exception error) when (error is HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return Failed(error.Message);
        }
    }

    public HealthCheckResult Health(bool failClosed) => _lastError is { } error
        ? HealthCheckResult.Degraded($"the last OCSP request failed ({error}); {_cache.Count} answers cached")
        : HealthCheckResult.Healthy($"OCSP; {_cache.Count} answers cached");

    private RevocationStatus? Cached(string serial) =>
        _cache.TryGetValue(serial, out var answer) && time.GetUtcNow() < answer.NextUpdate ? answer.Status : null;

    private sealed record PendingRequest(CertificateID Id, byte[] Der);

    private PendingRequest? Request(string serial)
    {
        if (anchors.Current is not { } trust)
        {
            return null;
        }
        var id = new CertificateID(new AlgorithmIdentifier(OiwObjectIdentifiers.IdSha1, DerNull.Instance), trust.IssuingBouncyCastle, new BigInteger(serial, 16));
        var generator = new OcspReqGenerator();
        generator.AddRequest(id);
        return new PendingRequest(id, generator.Generate().GetEncoded());
    }

    private RevocationStatus Accept(string serial, PendingRequest request, byte[] responseDer)
    {
        if (anchors.Current is not { } trust)
        {
            return RevocationStatus.Unknown;
        }
        var now = time.GetUtcNow();
        Answer answer;
        try
        {
            answer = Verify(responseDer, request.Id, trust, now);
        }
        catch (Exception error)
        {
            // Whatever the parser throws on a malformed or forged answer: the status is unknown, the answer not cached.
            return Failed($"unusable OCSP response: {error.Message}");
        }
        _lastError = null;
        if (_cache.Count >= settings.OcspCacheSize)
        {
            foreach (var (key, old) in _cache)
            {
                if (old.NextUpdate <= now)
                {
                    _cache.TryRemove(key, out _);
                }
            }
            if (_cache.Count >= settings.OcspCacheSize)
            {
                // Still full of current answers: start over rather than grow (each is one request away).
                _cache.Clear();
            }
        }
        _cache[serial] = answer;
        return answer.Status;
    }

    /// <summary>
    /// RFC 6960 3.2: the response is for the certificate asked about, signed by the issuing CA or by a responder
    /// certificate the issuing CA issued with id-kp-OCSPSigning (4.2.2.2), with thisUpdate not in the future and a
    /// nextUpdate still ahead.
    /// </summary>
    internal static Answer Verify(byte[] responseDer, CertificateID id, PkiTrustAnchors trust, DateTimeOffset now)
    {
        var response = new OcspResp(responseDer);
        if (response.Status != OcspRespStatus.Successful || response.GetResponseObject() is not BasicOcspResp basic)
        {
            throw new InvalidDataException($"OCSP response status {response.Status}");
        }
        var issuer = trust.IssuingBouncyCastle;
        var signer = issuer.GetPublicKey();
        var responder = basic.GetCerts()?.FirstOrDefault(c => !c.Equals(issuer));
        if (responder is not null)
        {
            try
            {
                responder.Verify(issuer.GetPublicKey());
            }
            catch (Exception error)
            {
                throw new InvalidDataException("the OCSP responder certificate is not issued by the issuing CA", error);
            }
            if (!responder.IssuerDN.Equivalent(issuer.SubjectDN) || !responder.IsValid(now.UtcDateTime)
                || responder.GetExtendedKeyUsage()?.Any(oid => oid.Id == OcspSigningOid) != true)
            {
                throw new InvalidDataException("the OCSP responder certificate is not a current OCSPSigning certificate of the issuing CA");
            }
            signer = responder.GetPublicKey();
        }
        if (!basic.Verify(signer))
        {
            throw new InvalidDataException("the OCSP response signature does not verify");
        }
        var single = basic.Responses.FirstOrDefault(r => r.GetCertID().Equals(id))
            ?? throw new InvalidDataException("the OCSP response does not answer for the certificate asked about");
        if (single.ThisUpdate > now.UtcDateTime + ClockSkew || single.NextUpdate is not { } nextUpdate || nextUpdate <= now.UtcDateTime)
        {
            throw new InvalidDataException("the OCSP response is not current (thisUpdate/nextUpdate)");
        }
        var status = single.GetCertStatus() switch
        {
            null => RevocationStatus.Good,
            RevokedStatus => RevocationStatus.Revoked,
            _ => RevocationStatus.Unknown,
        };
        return new Answer(status, new DateTimeOffset(DateTime.SpecifyKind(nextUpdate, DateTimeKind.Utc)));
    }

    private RevocationStatus Failed(string error)
    {
        _lastError = error;
        OcspFailed(logger, error);
        return RevocationStatus.Unknown;
    }

    [LoggerMessage(EventId = 1220, EventName = "PkiClientOcspFailed", Level = LogLevel.Warning, Message = "OCSP check failed: {Error}")]
    private static partial void OcspFailed(ILogger logger, string error);
}
