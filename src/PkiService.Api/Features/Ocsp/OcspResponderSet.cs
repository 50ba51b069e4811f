using Microsoft.Extensions.Options;
using PkiService.Api.Infrastructure;
using PkiService.Core.Authorities;
using PkiService.Core.Ocsp;

namespace PkiService.Api.Features.Ocsp;

/// <summary>
/// The OCSP responder for every CA this service holds (issuing CA and root), each with its delegated responder
/// certificate (RFC 6960 4.2.2.2), loaded or created at start and renewed well before expiry.
/// </summary>
public sealed class OcspResponderSet : IDisposable
{
    private readonly CaHierarchy _hierarchy;
    private readonly CaKeyVault _vault;
    private readonly ICertificateStatusSource _statusSource;
    private readonly OcspResponseCache _cache;
    private readonly OcspOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<OcspResponderSet> _logger;
    private readonly Lock _renewLock = new();
    private volatile State _state;

    private sealed record State(OcspResponder Responder, OcspResponderCertificate Issuing, OcspResponderCertificate Root);

    public OcspResponderSet(
        CaHierarchy hierarchy,
        CaKeyVault vault,
        ICertificateStatusSource statusSource,
        OcspResponseCache cache,
        IOptions<OcspOptions> options,
        TimeProvider time,
        ILogger<OcspResponderSet> logger)
    {
        _hierarchy = hierarchy;
        _vault = vault;
        _statusSource = statusSource;
        _cache = cache;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _state = Load();
    }

    /// <summary>The responder answering now.</summary>
    public OcspResponder Responder => _state.Responder;

    /// <summary>The issuing CA's delegated responder certificate.</summary>
    public OcspResponderCertificate IssuingResponder => _state.Issuing;

    /// <summary>The root's delegated responder certificate.</summary>
    public OcspResponderCertificate RootResponder => _state.Root;

    /// <summary>Replaces any responder certificate that needs renewal; returns true when one was replaced.</summary>
    public bool RenewIfDue()
    {
        lock (_renewLock)
        {
            var now = _time.GetUtcNow();
            var current = _state;
            if (!current.Issuing.NeedsRenewal(now) && !current.Root.NeedsRenewal(now))
            {
                return false;
            }
            _state = Load();
            _cache.Clear(); // cached responses carry the old responder certificate
            return true;
        }
    }

    private State Load()
    {
        var issuing = LoadOrCreate(CaHierarchy.IssuingName, _hierarchy.Issuing);
        var root = LoadOrCreate(CaHierarchy.RootName, _hierarchy.Root);
        var responder = new OcspResponder(
            [new OcspResponderEntry(_hierarchy.Issuing, issuing), new OcspResponderEntry(_hierarchy.Root, root)],
            _statusSource,
            _time,
            _options.ResponseValidityDuration,
            _logger);
        return new State(responder, issuing, root);
    }

    private OcspResponderCertificate LoadOrCreate(string caName, CertificateAuthority ca) =>
        OcspResponderCertificate.LoadOrCreate(
            _vault.Store, caName, ca, _vault.Passphrase, _options.ResponderValidityDuration, _time, _logger, _vault.Iterations);

    public void Dispose()
    {
        _state.Issuing.Dispose();
        _state.Root.Dispose();
    }
}
