using Microsoft.Extensions.Options;
using PkiService.Api.Infrastructure;
using PkiService.Core.Authorities;
using PkiService.Core.Ocsp;

namespace PkiService.Api.Features.Ocsp;

/// <summary>
/// The OCSP responder for every CA this service holds (issuing CA and root), each with its delegated responder
/// certificate (RFC 6960 4.2.2.2), loaded or created at start and renewed well before expiry. The responder
/// certificates live in <see cref="CaKeyVault.Store"/>: with a shared database every node answers with the same ones.
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

    private sealed record State(OcspResponder Responder, OcspResponderCertificate Issuing, OcspResponderCertificate? Root);

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
        // Under the cluster-wide lock: nodes starting at once on a database without responders create each one once.
        _state = _vault.Exclusive(Load);
    }

    /// <summary>The responder answering now.</summary>
    public OcspResponder Responder => _state.Responder;

    /// <summary>The issuing CA's delegated responder certificate.</summary>
    public OcspResponderCertificate IssuingResponder => _state.Issuing;

    /// <summary>
    /// The root's delegated responder certificate; null when the root is external (offline): the service holds no root
    /// key to certify a responder with, so it answers OCSP for the issuing CA only.
    /// </summary>
    public OcspResponderCertificate? RootResponder => _state.Root;

    /// <summary>
    /// Replaces any responder certificate that needs renewal, or that another node sharing the store has replaced;
    /// returns true when one was replaced. The reload runs under the cluster-wide CA key lock and reads the store first,
    /// creating only a responder still due there: nodes that find a responder due at once renew it once, and the others
    /// (now or at their next check) adopt the one it stored, so every node signs with the same responder certificate.
    /// </summary>
    public bool RenewIfDue()
    {
        lock (_renewLock)
        {
            var now = _time.GetUtcNow();
            var current = _state;
            var due = current.Issuing.NeedsRenewal(now) || current.Root?.NeedsRenewal(now) == true;
            if (!due && !ReplacedInStore(CaHierarchy.IssuingName, current.Issuing) && (current.Root is null || !ReplacedInStore(CaHierarchy.RootName, current.Root)))
            {
                return false;
            }
            var next = _vault.Exclusive(Load);
            if (next.Issuing.Der.AsSpan().SequenceEqual(current.Issuing.Der)
                && (next.Root is null || next.Root.Der.AsSpan().SequenceEqual(current.Root!.Der)))
            {
                next.Issuing.Dispose();
                next.Root?.Dispose();
                return false;
            }
            _state = next;
            _cache.Clear(); // cached responses carry the old responder certificate
            return true;
        }
    }

    /// <summary>True when the store holds a different responder certificate for <paramref name="caName"/> than <paramref name="held"/>.</summary>
    private bool ReplacedInStore(string caName, OcspResponderCertificate held) =>
        _vault.Store.TryLoad(OcspResponderCertificate.StoreName(caName), out var certificateDer, out _)
        && !certificateDer.AsSpan().SequenceEqual(held.Der);

    private State Load()
    {
        var issuing = LoadOrCreate(CaHierarchy.IssuingName, _hierarchy.Issuing);
        // An external root's key is offline: no responder certificate can be signed for it here.
        var root = _hierarchy.IsRootExternal ? null : LoadOrCreate(CaHierarchy.RootName, _hierarchy.Root);
        List<OcspResponderEntry> entries = [new OcspResponderEntry(_hierarchy.Issuing, issuing)];
        if (root is not null)
        {
            entries.Add(new OcspResponderEntry(_hierarchy.Root, root));
        }
        var responder = new OcspResponder(
            entries,
            _statusSource,
            _time,
            _options.ResponseValidityDuration,
            _logger);
        return new State(responder, issuing, root);
    }

    private OcspResponderCertificate LoadOrCreate(string caName, CertificateAuthority ca) =>
        OcspResponderCertificate.LoadOrCreate(_vault.ResponderKeys, caName, ca, _options.ResponderValidityDuration, _time, _logger);

    public void Dispose()
    {
        _state.Issuing.Dispose();
        _state.Root?.Dispose();
    }
}
