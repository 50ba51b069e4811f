using System.Numerics;
using PkiService.Api.Features.Crl;

namespace PkiService.Api.Features.RevocationStream;

/// <summary>
/// The thisUpdate of the issuing CA's complete CRLs this node has served since it started (the newest
/// <see cref="Capacity"/>), so a stream resumed from CRL number N replays only what CRL N may not list.
/// </summary>
/// <remarks>
/// A number between two recorded ones answers with the older one's thisUpdate: CRL numbers and thisUpdate increase
/// together (RFC 5280 5.2.3; one builder at a time draws numbers after it fixed thisUpdate), so that time is at or before
/// CRL N's and the replay from it is a superset of what N may miss. A number below the oldest recorded, or above the
/// newest, is unknown: the caller replays everything.
/// </remarks>
public sealed class CrlHistory
{
    /// <summary>CRLs remembered: a few days of one revocation a minute, 24 KB at most.</summary>
    public const int Capacity = 1024;

    private readonly Lock _lock = new();
    private readonly SortedList<BigInteger, DateTimeOffset> _thisUpdates = [];

    /// <summary>Remembers <paramref name="crl"/> (a complete CRL this node serves); null is ignored.</summary>
    public void Record(PublishedCrl? crl)
    {
        if (crl is null)
        {
            return;
        }
        lock (_lock)
        {
            _thisUpdates[crl.Crl.CrlNumber] = crl.ThisUpdate;
            while (_thisUpdates.Count > Capacity)
            {
                _thisUpdates.RemoveAt(0);
            }
        }
    }

    /// <summary>
    /// A time at or before the thisUpdate of complete CRL <paramref name="number"/>, or null when this node does not know
    /// that CRL (older than what it remembers, or newer than any it has served).
    /// </summary>
    public DateTimeOffset? ThisUpdateAtOrBefore(BigInteger number)
    {
        lock (_lock)
        {
            var keys = _thisUpdates.Keys;
            if (keys.Count == 0 || number < keys[0] || number > keys[^1])
            {
                return null;
            }
            // The greatest recorded number <= number (binary search over the sorted keys).
            int low = 0, high = keys.Count - 1;
            while (low < high)
            {
                var middle = (low + high + 1) / 2;
                if (keys[middle] <= number)
                {
                    low = middle;
                }
                else
                {
                    high = middle - 1;
                }
            }
            return _thisUpdates.Values[low];
        }
    }
}
