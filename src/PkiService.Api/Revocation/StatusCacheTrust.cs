using PkiService.Persistence;

namespace PkiService.Api.Revocation;

/// <summary>
/// Whether what this node caches about certificate statuses (OCSP responses, statuses) may be answered from: the one
/// place every such cache consults. A cache may be trusted only while this node hears every status change another node
/// announces. When the listening connection is lost (<see cref="Distrust"/>) an announcement may be missed, so caches
/// stop answering at once (requests are read from the database and signed afresh) and drop what they hold; they are
/// trusted again (<see cref="TryRestore"/>) only after LISTEN is back in effect and the changes were caught up, so a
/// missed revocation never leaves a cached <c>good</c> behind (issue #11).
/// </summary>
/// <remarks>
/// On a database no other node shares (SQLite) there is nobody to miss: caches are trusted from the start. On a shared
/// one (PostgreSQL) they are not trusted until the first LISTEN is in effect. A cache keeps nothing it read while it
/// was not trusted (it checks <see cref="IsTrusted"/> after storing, as it checks its own generation).
/// </remarks>
public sealed class StatusCacheTrust
{
    private readonly Lock _lock = new();
    private readonly List<Action> _caches = [];
    private volatile bool _trusted;
    private long _epoch;

    /// <summary>Trusted from the start when the database is not shared with other nodes.</summary>
    public StatusCacheTrust(IPkiDatabase database)
        : this(trustedAtStart: !(database ?? throw new ArgumentNullException(nameof(database))).IsShared)
    {
    }

    /// <summary>A trust that starts as <paramref name="trustedAtStart"/>.</summary>
    public StatusCacheTrust(bool trustedAtStart) => _trusted = trustedAtStart;

    /// <summary>True while caches may answer from what they hold and keep what they read.</summary>
    public bool IsTrusted => _trusted;

    /// <summary>Changes at every <see cref="Distrust"/>: read it before the catch-up, hand it to <see cref="TryRestore"/> after.</summary>
    public long Epoch
    {
        get
        {
            lock (_lock)
            {
                return _epoch;
            }
        }
    }

    /// <summary>
    /// A cache's way to empty itself (quick, must not block), run whenever trust is withdrawn and again just before it is
    /// restored.
    /// </summary>
    public void RegisterCache(Action clear)
    {
        ArgumentNullException.ThrowIfNull(clear);
        lock (_lock)
        {
            _caches.Add(clear);
        }
    }

    /// <summary>Announcements may be missed from now on: caches stop answering and drop what they hold. Does not block.</summary>
    public void Distrust()
    {
        Action[] caches;
        lock (_lock)
        {
            _trusted = false;
            _epoch++;
            caches = [.. _caches];
        }
        foreach (var clear in caches)
        {
            clear();
        }
    }

    /// <summary>
    /// Caches may answer again: call once listening is back and the changes were caught up. Empties every cache first,
    /// so nothing read before now is answered from. Refused (false) when trust was withdrawn again since
    /// <paramref name="epoch"/> was read: that catch-up may already have missed something.
    /// </summary>
    public bool TryRestore(long epoch)
    {
        lock (_lock)
        {
            if (_epoch != epoch)
            {
                return false;
            }
            foreach (var clear in _caches)
            {
                clear();
            }
            _trusted = true;
            return true;
        }
    }
}
