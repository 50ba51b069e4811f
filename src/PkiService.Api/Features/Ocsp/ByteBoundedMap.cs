using System.Collections.Concurrent;

namespace PkiService.Api.Features.Ocsp;

/// <summary>
/// A concurrent dictionary bounded by the bytes its rows hold (each row's cost is estimated by the caller). Reads take
/// no lock and do not allocate; a read marks its row as used.
/// </summary>
/// <remarks>
/// When an insert would pass the bound, one caller sweeps the table (CLOCK, "second chance"): a row read since the
/// last sweep loses its mark and stays, any other row is removed, until the table is down to seven eighths of its
/// bound, so a full table gives up its cold rows (for instance a burst of rows each read once) and keeps the hot
/// ones, rather than being emptied. While one caller sweeps, other inserts that do not fit are not kept (the caller
/// still has its value; it is only not remembered). Concurrent inserts can pass the bound by at most one row each.
/// </remarks>
internal sealed class ByteBoundedMap<TKey, TValue> where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Row> _rows;
    private readonly long _maxBytes;
    private long _bytes;
    private long _evictions;
    private int _sweeping;

    public ByteBoundedMap(long maxBytes, IEqualityComparer<TKey>? comparer = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        _maxBytes = maxBytes;
        _rows = new ConcurrentDictionary<TKey, Row>(comparer);
    }

    /// <summary>The bound, in bytes.</summary>
    public long MaxBytes => _maxBytes;

    /// <summary>Sum of the estimated costs of the rows held.</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    public int Count => _rows.Count;

    /// <summary>Rows removed by sweeps to stay under the bound (not by <see cref="Remove(TKey)"/> or <see cref="Clear"/>).</summary>
    public long Evictions => Volatile.Read(ref _evictions);

    public bool TryGetValue(TKey key, out TValue value)
    {
        if (_rows.TryGetValue(key, out var row))
        {
            row.MarkUsed();
            value = row.Value;
            return true;
        }
        value = default!;
        return false;
    }

    /// <summary>Looks up by another form of the key (e.g. a span for byte[] keys) without allocating; needs a comparer that supports it.</summary>
    public bool TryGetValue<TAlternate>(TAlternate key, out TValue value) where TAlternate : notnull, allows ref struct
    {
        if (_rows.GetAlternateLookup<TAlternate>().TryGetValue(key, out var row))
        {
            row.MarkUsed();
            value = row.Value;
            return true;
        }
        value = default!;
        return false;
    }

    public bool ContainsKey(TKey key) => _rows.ContainsKey(key);

    /// <summary>
    /// Adds or replaces the row for <paramref name="key"/>; false when it was not kept (it alone is over the bound, or
    /// the table is full and another caller is making room).
    /// </summary>
    public bool Set(TKey key, TValue value, int cost)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cost);
        if (Volatile.Read(ref _bytes) + cost > _maxBytes && !MakeRoom(cost))
        {
            return false;
        }
        var row = new Row(value, cost);
        while (true)
        {
            if (_rows.TryAdd(key, row))
            {
                Interlocked.Add(ref _bytes, cost);
                return true;
            }
            if (_rows.TryGetValue(key, out var old) && _rows.TryUpdate(key, row, old))
            {
                Interlocked.Add(ref _bytes, cost - old.Cost);
                return true;
            }
        }
    }

    public void Remove(TKey key)
    {
        if (_rows.TryRemove(key, out var row))
        {
            Interlocked.Add(ref _bytes, -row.Cost);
        }
    }

    /// <summary>Removes the row for <paramref name="key"/> only while it still holds <paramref name="expected"/> (a newer row stays).</summary>
    public void Remove(TKey key, TValue expected)
    {
        if (_rows.TryGetValue(key, out var row)
            && EqualityComparer<TValue>.Default.Equals(row.Value, expected)
            && _rows.TryRemove(new KeyValuePair<TKey, Row>(key, row)))
        {
            Interlocked.Add(ref _bytes, -row.Cost);
        }
    }

    /// <summary>Removes every row, one by one, so that the byte count stays exact while inserts go on.</summary>
    public void Clear()
    {
        foreach (var pair in _rows)
        {
            if (_rows.TryRemove(pair))
            {
                Interlocked.Add(ref _bytes, -pair.Value.Cost);
            }
        }
    }

    /// <summary>Sweeps until <paramref name="cost"/> more bytes fit under seven eighths of the bound; false if it did not get there or another caller is sweeping.</summary>
    private bool MakeRoom(int cost)
    {
        if (cost > _maxBytes || Interlocked.CompareExchange(ref _sweeping, 1, 0) != 0)
        {
            return false;
        }
        try
        {
            var target = _maxBytes - _maxBytes / 8;
            // Two passes at most: the first clears the marks of the rows it passes, so the second can remove them.
            for (var pass = 0; pass < 2 && Volatile.Read(ref _bytes) + cost > target; pass++)
            {
                foreach (var pair in _rows)
                {
                    if (Volatile.Read(ref _bytes) + cost <= target)
                    {
                        break;
                    }
                    if (pair.Value.TakeUsedMark())
                    {
                        continue; // read since the last sweep: a second chance
                    }
                    if (_rows.TryRemove(pair))
                    {
                        Interlocked.Add(ref _bytes, -pair.Value.Cost);
                        Interlocked.Increment(ref _evictions);
                    }
                }
            }
            return Volatile.Read(ref _bytes) + cost <= _maxBytes;
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    private sealed class Row(TValue value, int cost)
    {
        private bool _used;

        public TValue Value { get; } = value;

        public int Cost { get; } = cost;

        // Read before write: a hot row's cache line is not written on every hit.
        public void MarkUsed()
        {
            if (!_used)
            {
                _used = true;
            }
        }

        public bool TakeUsedMark()
        {
            if (!_used)
            {
                return false;
            }
            _used = false;
            return true;
        }
    }
}
