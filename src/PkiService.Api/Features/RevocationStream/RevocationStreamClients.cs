using Microsoft.Extensions.Options;

namespace PkiService.Api.Features.RevocationStream;

/// <summary>The streams this node serves: at most <c>RevocationStream:MaxClients</c> at once, and the events sent.</summary>
public sealed class RevocationStreamClients(IOptions<RevocationStreamOptions> options)
{
    private long _connected;
    private long _eventsSent;

    /// <summary>Streams open now.</summary>
    public long Connected => Interlocked.Read(ref _connected);

    /// <summary>Events (<c>revoked</c> and <c>ready</c>) sent on all streams since start.</summary>
    public long EventsSent => Interlocked.Read(ref _eventsSent);

    /// <summary>Takes a slot, or null when <see cref="RevocationStreamOptions.MaxClients"/> are taken; dispose to give it back.</summary>
    public IDisposable? TryEnter()
    {
        if (Interlocked.Increment(ref _connected) > options.Value.MaxClients)
        {
            Interlocked.Decrement(ref _connected);
            return null;
        }
        return new Slot(this);
    }

    /// <summary>Counts <paramref name="count"/> events sent.</summary>
    public void Sent(int count) => Interlocked.Add(ref _eventsSent, count);

    private sealed class Slot(RevocationStreamClients clients) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                Interlocked.Decrement(ref clients._connected);
            }
        }
    }
}
