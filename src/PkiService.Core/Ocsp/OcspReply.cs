using PkiService.Core.Primitives;
using PkiService.Core.Revocation;

namespace PkiService.Core.Ocsp;

/// <summary>The OCSPResponseStatus values of RFC 6960 4.2.1 (4 is unused).</summary>
public enum OcspReplyStatus
{
    Successful = 0,
    MalformedRequest = 1,
    InternalError = 2,
    TryLater = 3,
    SigRequired = 5,
    Unauthorized = 6,
}

/// <summary>
/// Identifies a response that can be reused for every request asking the same thing: one certificate and no nonce
/// (the RFC 5019 profile). The hash algorithm is part of the key because the response repeats the request's CertID.
/// </summary>
/// <param name="IssuerFingerprint">SHA-256 fingerprint of the CA certificate (uppercase hex).</param>
/// <param name="SerialNumber">The certificate asked about.</param>
/// <param name="HashAlgorithm">
/// The CertID hash: <c>SHA1</c>, <c>SHA256</c>, <c>SHA384</c> or <c>SHA512</c>, with <c>-NOPARAMS</c> appended when the
/// request's AlgorithmIdentifier omitted the NULL parameters (both forms occur, and the response echoes the request's).
/// </param>
public readonly record struct OcspCacheKey(string IssuerFingerprint, SerialNumber SerialNumber, string HashAlgorithm);

/// <summary>The encoded OCSPResponse and what a cache needs to know about it.</summary>
/// <param name="Status">The OCSPResponseStatus.</param>
/// <param name="Der">DER of the OCSPResponse (<c>application/ocsp-response</c>).</param>
/// <param name="ThisUpdate">thisUpdate of the single responses (also producedAt); null unless successful.</param>
/// <param name="NextUpdate">nextUpdate of the single responses; a cache must not serve the reply past it. Null unless successful.</param>
/// <param name="CacheKey">
/// Set when the reply may be cached and served to any request with the same key: successful, one certificate,
/// no nonce, and status good or revoked (unknown is left out, since the serial may be issued later).
/// </param>
/// <param name="CertificateStates">
/// What the single responses say (RFC 6960 2.2), in request order; empty unless successful. For metrics and logs: the
/// DER is what the client gets.
/// </param>
public sealed record OcspReply(
    OcspReplyStatus Status,
    byte[] Der,
    DateTimeOffset? ThisUpdate,
    DateTimeOffset? NextUpdate,
    OcspCacheKey? CacheKey,
    IReadOnlyList<RevocationState>? CertificateStates = null)
{
    /// <summary>
    /// One word for the reply: the single responses' status when they all agree (<c>good</c>, <c>revoked</c>,
    /// <c>unknown</c>), <c>mixed</c> when they differ, else the refusal (<c>malformed</c>, <c>unauthorized</c>,
    /// <c>internal_error</c>, <c>try_later</c>, <c>sig_required</c>).
    /// </summary>
    public string Summary => Status switch
    {
        OcspReplyStatus.Successful when CertificateStates is { Count: > 0 } states =>
            states.All(s => s == states[0]) ? states[0].ToString().ToLowerInvariant() : "mixed",
        OcspReplyStatus.Successful => "successful",
        OcspReplyStatus.MalformedRequest => "malformed",
        OcspReplyStatus.InternalError => "internal_error",
        OcspReplyStatus.TryLater => "try_later",
        OcspReplyStatus.SigRequired => "sig_required",
        OcspReplyStatus.Unauthorized => "unauthorized",
        _ => "other",
    };
}
