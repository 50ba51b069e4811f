using Microsoft.Extensions.Diagnostics.HealthChecks;
using PkiService.AspNetCore.Identity;

namespace PkiService.AspNetCore.Revocation;

/// <summary>What the checks know of a certificate's revocation.</summary>
internal enum RevocationStatus
{
    Good,
    Revoked,

    /// <summary>Cannot be known (no fresh CRL and no stream, responder unreachable, local set over its bound).</summary>
    Unknown,
}

/// <summary>One per <see cref="PkiRevocationMode"/>: answers for a certificate of our issuing CA.</summary>
internal interface IRevocationChecker
{
    /// <summary>For the TLS handshake (a synchronous callback); OCSP may block on the network here.</summary>
    RevocationStatus Check(ClientCertificateInfo certificate);

    /// <summary>For each request: a local lookup except OCSP on a cache miss.</summary>
    ValueTask<RevocationStatus> CheckAsync(ClientCertificateInfo certificate, CancellationToken cancellationToken);

    /// <summary>The health check's answer: Unhealthy when fail-closed would refuse everyone, Degraded on a fallback.</summary>
    HealthCheckResult Health(bool failClosed);
}

/// <summary><see cref="PkiRevocationMode.None"/>: chain and validity only.</summary>
internal sealed class NoRevocationChecker : IRevocationChecker
{
    public RevocationStatus Check(ClientCertificateInfo certificate) => RevocationStatus.Good;

    public ValueTask<RevocationStatus> CheckAsync(ClientCertificateInfo certificate, CancellationToken cancellationToken) =>
        ValueTask.FromResult(RevocationStatus.Good);

    public HealthCheckResult Health(bool failClosed) => HealthCheckResult.Healthy("revocation is not checked (PkiClient:Revocation=None)");
}
