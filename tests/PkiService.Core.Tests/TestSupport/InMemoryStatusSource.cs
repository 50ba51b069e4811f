using PkiService.Core.Ocsp;
using PkiService.Core.Primitives;
using PkiService.Core.Revocation;

namespace PkiService.Core.Tests.TestSupport;

/// <summary>Statuses set by the test; anything not set is unknown.</summary>
public sealed class InMemoryStatusSource : ICertificateStatusSource
{
    private readonly Dictionary<(string, SerialNumber), RevocationStatus> _statuses = [];

    public int Lookups { get; private set; }

    public Exception? Failure { get; set; }

    public void Set(string issuerFingerprint, SerialNumber serial, RevocationStatus status) => _statuses[(issuerFingerprint, serial)] = status;

    public ValueTask<RevocationStatus> GetStatusAsync(string issuerFingerprint, SerialNumber serialNumber, CancellationToken cancellationToken)
    {
        Lookups++;
        if (Failure is not null)
        {
            throw Failure;
        }
        return ValueTask.FromResult(_statuses.GetValueOrDefault((issuerFingerprint, serialNumber), RevocationStatus.Unknown));
    }
}
