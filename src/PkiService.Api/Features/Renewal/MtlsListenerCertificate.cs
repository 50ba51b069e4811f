using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using PkiService.Api.Infrastructure;
using PkiService.Core.Authorities;
using PkiService.Core.Issuance;
using PkiService.Persistence;
using PkiService.Api.Issuance;

namespace PkiService.Api.Features.Renewal;

/// <summary>
/// The mTLS listener's server certificate: issued by our issuing CA with the <c>server</c> profile, recorded in the
/// database like any certificate, kept with its encrypted key in this node's data directory (<c>mtls-listener.crt/.key</c>,
/// even when nodes share the database: it names this node's own hosts),
/// and replaced when a third of its life is left. TLS handshakes read <see cref="GetContextAsync"/>, so a renewed
/// certificate is used from the next handshake on.
/// </summary>
public sealed class MtlsListenerCertificate(
    IServiceScopeFactory scopes,
    CaHierarchy hierarchy,
    CaKeyVault vault,
    MtlsListenerSettings settings,
    IOptions<RenewalOptions> options,
    TimeProvider time,
    ILogger<MtlsListenerCertificate> logger) : IDisposable
{
    public const string StoreName = "mtls-listener";

    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly MtlsListenerAddress _address = settings.Required;
    private volatile Current? _current;

    private sealed record Current(TlsServerCertificate Certificate, SslStreamCertificateContext Context);

    /// <summary>The certificate in use (loading or issuing it on first use).</summary>
    public async ValueTask<TlsServerCertificate> GetCertificateAsync(CancellationToken cancellationToken) =>
        (_current ?? await LoadOrCreateAsync(cancellationToken)).Certificate;

    /// <summary>The certificate and the issuing CA certificate as SslStream sends them (the client needs the intermediate).</summary>
    public async ValueTask<SslStreamCertificateContext> GetContextAsync(CancellationToken cancellationToken) =>
        (_current ?? await LoadOrCreateAsync(cancellationToken)).Context;

    /// <summary>Replaces the certificate if it needs renewal; returns true when it was replaced.</summary>
    public async Task<bool> RenewIfDueAsync(CancellationToken cancellationToken)
    {
        var before = _current;
        if (before is not null && !before.Certificate.NeedsRenewal(time.GetUtcNow()))
        {
            return false;
        }
        var after = await LoadOrCreateAsync(cancellationToken);
        return !ReferenceEquals(before, after);
    }

    private async Task<Current> LoadOrCreateAsync(CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            if (_current is { } current && !current.Certificate.NeedsRenewal(time.GetUtcNow()))
            {
                return current;
            }
            var certificate = await TlsServerCertificate.LoadOrCreateAsync(
                vault.NodeKeys, StoreName, hierarchy.Issuing, _address.CommonName, _address.SubjectAltNames,
                IssueAsync, time, logger, cancellationToken);
            var context = SslStreamCertificateContext.Create(
                certificate.ToX509Certificate2(),
                // Every certificate up to the root, intermediates of an external root included.
                [.. hierarchy.ChainDer.Select(X509CertificateLoader.LoadCertificate)],
                offline: true);
            // The replaced certificate is not disposed: a handshake that started with it may still be using its key.
            _current = new Current(certificate, context);
            return _current;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// Issues and records the listener certificate in a transaction of its own, like an enrollment without a token (and,
    /// as before, without an audit row: the service issues it to itself). It commits at once rather than with the group
    /// commit, whose background service may not have started yet.
    /// </summary>
    private async Task<byte[]> IssueAsync(CertificationRequest request, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var issuer = scope.ServiceProvider.GetRequiredService<CertificateIssuer>();
        var grant = IssuanceGrant.ForService(
            "mtls-listener", new NameAuthorization(_address.CommonName, _address.SubjectAltNames), CertificateProfile.Server);
        var issued = await issuer.IssueAsync(request, grant, options.Value.ListenerCertificateValidityDuration,
            _ => null, () => new InvalidOperationException("A service grant spends nothing, so it cannot have been spent."), now: true);
        return issued.Der;
    }

    public void Dispose()
    {
        _current?.Certificate.Dispose();
        _lock.Dispose();
    }
}
