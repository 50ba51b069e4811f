using PkiService.Core.Authorities;

namespace PkiService.Core.Tests.TestSupport;

/// <summary>An <see cref="ICaKeyStore"/> that keeps everything in a dictionary, for throwaway CAs.</summary>
public sealed class InMemoryCaKeyStore : ICaKeyStore
{
    private readonly Dictionary<string, (byte[] Certificate, byte[] Key)> _entries = new(StringComparer.Ordinal);

    public int SaveCount { get; private set; }

    public bool TryLoad(string name, out byte[] certificateDer, out byte[] encryptedPkcs8)
    {
        if (_entries.TryGetValue(name, out var entry))
        {
            (certificateDer, encryptedPkcs8) = entry;
            return true;
        }
        certificateDer = [];
        encryptedPkcs8 = [];
        return false;
    }

    public void Save(string name, byte[] certificateDer, byte[] encryptedPkcs8)
    {
        _entries[name] = (certificateDer, encryptedPkcs8);
        SaveCount++;
    }
}
