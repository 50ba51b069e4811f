namespace PkiService.AspNetCore.Revocation;

/// <summary>
/// A read-only view of the revocation stream's body with two guards: reads fail with <see cref="TimeoutException"/> when
/// nothing arrives for <paramref name="idle"/> (a stream that stopped sending even its keep-alive comments is dead,
/// whatever TCP thinks), and with <see cref="InvalidDataException"/> when one event grows past
/// <see cref="MaxEventBytes"/> (the SSE parser would otherwise buffer a line, or the data lines of an event, without
/// end: the stream is unsigned and may come over plain http).
/// </summary>
internal sealed class GuardedEventStream(Stream inner, TimeSpan idle) : Stream
{
    /// <summary>Longest event accepted, its lines' bytes without line ends (a revocation event is about 200 bytes).</summary>
    public const int MaxEventBytes = 64 * 1024;

    private int _eventBytes;
    private int _lineBytes;
    private bool _afterCarriageReturn;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(idle);
        try
        {
            var read = await inner.ReadAsync(buffer, timeout.Token);
            Count(buffer.Span[..read]);
            return read;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"nothing received on the revocation stream for {idle.TotalSeconds} s");
        }
    }

    // SSE (WHATWG HTML 9.2.6): lines end with CRLF, LF or CR; an empty line ends an event.
    private void Count(ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            if (b == (byte)'\n' && _afterCarriageReturn)
            {
                _afterCarriageReturn = false;
                continue;
            }
            _afterCarriageReturn = b == (byte)'\r';
            if (b is (byte)'\r' or (byte)'\n')
            {
                if (_lineBytes == 0)
                {
                    _eventBytes = 0;
                }
                _lineBytes = 0;
            }
            else
            {
                _lineBytes++;
                if (++_eventBytes > MaxEventBytes)
                {
                    throw new InvalidDataException($"an event on the revocation stream exceeds {MaxEventBytes} bytes");
                }
            }
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
