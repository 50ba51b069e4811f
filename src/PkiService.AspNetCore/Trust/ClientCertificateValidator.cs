using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using PkiService.AspNetCore.Identity;
using PkiService.AspNetCore.Refusals;
using PkiService.AspNetCore.Revocation;
using PkiService.AspNetCore.Service;

namespace PkiService.AspNetCore.Trust;

/// <summary>
/// The checks of a client certificate: chain to the pinned root through our issuing CA only (RFC 5280 6.1, never the
/// OS store), validity at the injected time, extended key usage clientAuth (RFC 5280 4.2.1.12), then revocation.
/// Used by Kestrel's handshake callback and, for chain trust, by the authentication handler.
/// </summary>
internal sealed class ClientCertificateValidator(
    TrustAnchorStore anchors,
    IRevocationChecker revocation,
    PkiClientSettings settings,
    ClientCertificateRefusals refusals,
    TimeProvider time)
{
    /// <summary>Kestrel's <c>ClientCertificateValidation</c>: false fails the handshake (the client gets a TLS alert, no detail).</summary>
    public bool ValidateHandshake(X509Certificate2 certificate, X509Chain? platformChain, SslPolicyErrors platformErrors)
    {
        // The platform's chain and errors are built against the OS store; they are ignored on purpose.
        _ = platformChain;
        _ = platformErrors;
        var refusal = Evaluate(certificate);
        if (refusal is { } reason)
        {
            refusals.Refuse(certificate, reason, RefusalStage.Handshake);
            return false;
        }
        return true;
    }

    /// <summary>Every check, handshake form (OCSP may block); null when the certificate is accepted.</summary>
    public RefusalReason? Evaluate(X509Certificate2 certificate)
    {
        var info = ClientCertificateInfo.Of(certificate);
        if (EvaluateChain(info) is { } chainRefusal)
        {
            return chainRefusal;
        }
        return Decide(info, revocation.Check(info), logAcceptedUnknown: true);
    }

    /// <summary>
    /// Turns a revocation status into a refusal, or not (with FailClosed false, unknown passes: logged at the
    /// handshake, not again on each request of the connection).
    /// </summary>
    public RefusalReason? Decide(ClientCertificateInfo info, RevocationStatus status, bool logAcceptedUnknown)
    {
        switch (status)
        {
            case RevocationStatus.Revoked:
                return RefusalReason.Revoked;
            case RevocationStatus.Unknown when settings.FailClosed:
                return RefusalReason.StatusUnknown;
            case RevocationStatus.Unknown:
                if (logAcceptedUnknown)
                {
                    refusals.AcceptUnknown(info.Certificate);
                }
                return null;
            default:
                return null;
        }
    }

    /// <summary>The time check of each request on an open connection (a certificate may expire while it stays open).</summary>
    public bool IsTimeValid(ClientCertificateInfo info)
    {
        var now = time.GetUtcNow().UtcDateTime;
        return now >= info.NotBefore && now <= info.NotAfter;
    }

    /// <summary>Chain, time and key usage; null when they hold.</summary>
    public RefusalReason? EvaluateChain(ClientCertificateInfo info)
    {
        if (anchors.Current is not { } trust)
        {
            return RefusalReason.Untrusted;
        }
        using var chain = new X509Chain();
        TrustAnchorLoader.Configure(chain.ChainPolicy, trust.Root, trust.Issuing, time.GetUtcNow());
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(CertificateClaims.ClientAuthOid));
        var built = chain.Build(info.Certificate);
        var flags = chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
        const X509ChainStatusFlags TimeFlags = X509ChainStatusFlags.NotTimeValid;
        const X509ChainStatusFlags UsageFlags = X509ChainStatusFlags.NotValidForUsage;
        // Exactly leaf <- our issuing CA <- our root: a certificate the root signed directly, or a chain through
        // another CA with the same names, is not one of ours.
        var ours = chain.ChainElements.Count == 3
            && chain.ChainElements[1].Certificate.RawDataMemory.Span.SequenceEqual(trust.Issuing.RawDataMemory.Span)
            && chain.ChainElements[2].Certificate.RawDataMemory.Span.SequenceEqual(trust.Root.RawDataMemory.Span);
        if (!ours || (flags & ~(TimeFlags | UsageFlags)) != 0)
        {
            return RefusalReason.Untrusted;
        }
        if ((flags & TimeFlags) != 0 || !IsTimeValid(info))
        {
            return RefusalReason.Expired;
        }
        // RFC 5280 4.2.1.12: without the extension a certificate would be good for any purpose; PkiService always
        // writes it, so its absence is refused too.
        if ((flags & UsageFlags) != 0 || !built || !CertificateClaims.Profiles(info.Certificate).Contains("client"))
        {
            return RefusalReason.NotClientAuth;
        }
        return null;
    }
}
