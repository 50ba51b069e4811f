namespace PkiService.Api.Tests.Support;

/// <summary>
/// Seeded, reproducible mutations of DER: byte flips, inserts, deletes, truncation, extension, wrapping in extra
/// SEQUENCE / OCTET STRING layers, and structural edits (duplicate, nest, drop, swap an element, re-encoded with
/// consistent lengths, looking inside OCTET and BIT STRINGs that hold DER). Case <c>n</c> of seed <c>s</c> always
/// gives the same bytes, whatever order the cases run in.
/// </summary>
public static class DerMutator
{
    private static readonly byte[] InterestingBytes = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0C, 0x13, 0x16, 0x1F, 0x30, 0x31, 0x7F, 0x80, 0x81, 0x82, 0x84, 0x88, 0xA0, 0xFF];

    /// <summary>The mutated bytes for case <paramref name="caseNumber"/> and a description of what was done.</summary>
    public static (byte[] Bytes, string Description) Mutate(byte[] seed, int fuzzSeed, int caseNumber)
    {
        var random = new Random(unchecked(fuzzSeed * 1_000_003 + caseNumber));
        var data = seed;
        var steps = random.Next(1, 4);
        var done = new List<string>(steps);
        for (var step = 0; step < steps; step++)
        {
            var (mutated, what) = MutateOnce(data, random);
            data = mutated;
            done.Add(what);
        }
        return (data, string.Join(", ", done));
    }

    private static (byte[], string) MutateOnce(byte[] data, Random random)
    {
        var operation = random.Next(14);
        if (data.Length == 0)
        {
            operation = 5; // only growth makes sense
        }
        switch (operation)
        {
            case 0:
            {
                var copy = (byte[])data.Clone();
                var flips = random.Next(1, 4);
                for (var i = 0; i < flips; i++)
                {
                    copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
                }
                return (copy, $"flip {flips} bits");
            }
            case 1:
            {
                var copy = (byte[])data.Clone();
                var at = random.Next(copy.Length);
                copy[at] = InterestingBytes[random.Next(InterestingBytes.Length)];
                return (copy, $"set byte {at} to 0x{copy[at]:X2}");
            }
            case 2:
            {
                var at = random.Next(data.Length + 1);
                var inserted = new byte[random.Next(1, 17)];
                random.NextBytes(inserted);
                return ([.. data.AsSpan(0, at), .. inserted, .. data.AsSpan(at)], $"insert {inserted.Length} bytes at {at}");
            }
            case 3:
            {
                var at = random.Next(data.Length);
                var count = Math.Min(random.Next(1, 17), data.Length - at);
                return ([.. data.AsSpan(0, at), .. data.AsSpan(at + count)], $"delete {count} bytes at {at}");
            }
            case 4:
            {
                var length = random.Next(data.Length);
                return (data[..length], $"truncate to {length}");
            }
            case 5:
            {
                if (random.Next(4) == 0)
                {
                    return ([.. data, .. data], "append a copy of itself");
                }
                var tail = new byte[random.Next(1, 65)];
                random.NextBytes(tail);
                return ([.. data, .. tail], $"append {tail.Length} bytes");
            }
            case 6:
            case 7:
            {
                var tag = operation == 6 ? (byte)0x30 : (byte)0x04;
                // Mostly a few layers, sometimes very deep (parsers that recurse per layer must not fall over).
                var layers = random.Next(10) == 0 ? random.Next(100, 2001) : random.Next(1, 4);
                var wrapped = data;
                for (var i = 0; i < layers; i++)
                {
                    wrapped = Tlv(tag, wrapped);
                }
                return (wrapped, $"wrap in {layers} x {(tag == 0x30 ? "SEQUENCE" : "OCTET STRING")}");
            }
            case 8:
                return EditTree(data, random, "duplicate", (siblings, i) => siblings.Insert(i, siblings[i].Copy()));
            case 9:
                return EditTree(data, random, "nest", (siblings, i) =>
                    siblings[i] = new Node(random.Next(3) switch { 0 => (byte)0x30, 1 => (byte)0x04, _ => (byte)0xA0 }, null, [siblings[i]], []));
            case 10:
                return EditTree(data, random, "drop", (siblings, i) => siblings.RemoveAt(i));
            case 11:
                return EditTree(data, random, "swap", (siblings, i) =>
                {
                    var j = random.Next(siblings.Count);
                    (siblings[i], siblings[j]) = (siblings[j], siblings[i]);
                });
            case 12:
                return EditTree(data, random, "retag", (siblings, i) =>
                    siblings[i] = siblings[i] with { Tag = InterestingBytes[random.Next(InterestingBytes.Length)] });
            default:
                return CorruptLength(data, random);
        }
    }

    /// <summary>Replaces the length of a random TLV header with a huge, indefinite or over-long one.</summary>
    private static (byte[], string) CorruptLength(byte[] data, Random random)
    {
        var headers = new List<int>();
        CollectHeaders(data, 0, data.Length, headers, depth: 0);
        if (headers.Count == 0)
        {
            return (data, "no header to corrupt");
        }
        var at = headers[random.Next(headers.Count)];
        var (_, lengthOctets) = ReadLength(data, at + 1);
        byte[] replacement = random.Next(4) switch
        {
            0 => [0x84, 0x7F, 0xFF, 0xFF, 0xFF],
            1 => [0x80],
            2 => [0x89, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
            _ => [0x82, 0x00, (byte)random.Next(256)],
        };
        return ([.. data.AsSpan(0, at + 1), .. replacement, .. data.AsSpan(at + 1 + lengthOctets)], $"length at {at} -> {Convert.ToHexString(replacement)}");
    }

    private static (byte[], string) EditTree(byte[] data, Random random, string what, Action<List<Node>, int> edit)
    {
        var root = Parse(data, 0, data.Length, depth: 0);
        if (root is not [var top])
        {
            return (data, $"{what}: not DER");
        }
        var parents = new List<Node>();
        top.CollectConstructed(parents);
        var parent = parents.Where(p => p.Children!.Count > 0).ToList() is { Count: > 0 } candidates ? candidates[random.Next(candidates.Count)] : null;
        if (parent is null)
        {
            return (data, $"{what}: no element");
        }
        var index = random.Next(parent.Children!.Count);
        edit(parent.Children, index);
        return (top.Encode(), $"{what} element {index} of a 0x{parent.Tag:X2}");
    }

    private sealed record Node(byte Tag, byte[]? Content, List<Node>? Children, byte[] Prefix)
    {
        public Node Copy() => this with { Children = Children?.Select(c => c.Copy()).ToList() };

        public void CollectConstructed(List<Node> into)
        {
            if (Children is null)
            {
                return;
            }
            into.Add(this);
            foreach (var child in Children)
            {
                child.CollectConstructed(into);
            }
        }

        public byte[] Encode() => Tlv(Tag, Children is null ? Content! : [.. Prefix, .. Children.SelectMany(c => c.Encode())]);
    }

    /// <summary>Parses a run of TLVs that exactly fills [start, end); null when it does not.</summary>
    private static List<Node>? Parse(byte[] data, int start, int end, int depth)
    {
        var nodes = new List<Node>();
        var at = start;
        while (at < end)
        {
            var tag = data[at];
            if ((tag & 0x1F) == 0x1F || at + 1 >= end)
            {
                return null;
            }
            var (length, lengthOctets) = ReadLength(data, at + 1);
            var contentStart = at + 1 + lengthOctets;
            if (length < 0 || contentStart + length > end)
            {
                return null;
            }
            var contentEnd = contentStart + length;
            List<Node>? children = null;
            byte[] prefix = [];
            if (depth < 64)
            {
                if ((tag & 0x20) != 0)
                {
                    children = Parse(data, contentStart, contentEnd, depth + 1);
                }
                else if (tag == 0x04 && length > 1)
                {
                    children = Parse(data, contentStart, contentEnd, depth + 1); // OCTET STRING holding DER (extension values)
                }
                else if (tag == 0x03 && length > 2 && data[contentStart] == 0)
                {
                    children = Parse(data, contentStart + 1, contentEnd, depth + 1); // BIT STRING holding DER (signatures, keys)
                    prefix = [0x00];
                }
            }
            nodes.Add(new Node(tag, children is null ? data[contentStart..contentEnd] : null, children, children is null ? [] : prefix));
            at = contentEnd;
        }
        return nodes;
    }

    private static void CollectHeaders(byte[] data, int start, int end, List<int> into, int depth)
    {
        var at = start;
        while (at + 1 < end && depth < 64)
        {
            var (length, lengthOctets) = ReadLength(data, at + 1);
            var contentStart = at + 1 + lengthOctets;
            if (length < 0 || contentStart + length > end)
            {
                return;
            }
            into.Add(at);
            if ((data[at] & 0x20) != 0)
            {
                CollectHeaders(data, contentStart, contentStart + length, into, depth + 1);
            }
            at = contentStart + length;
        }
    }

    /// <summary>A DER length at <paramref name="at"/>: (length, octets used), length -1 when unreadable.</summary>
    private static (int Length, int Octets) ReadLength(byte[] data, int at)
    {
        if (at >= data.Length)
        {
            return (-1, 1);
        }
        var first = data[at];
        if (first < 0x80)
        {
            return (first, 1);
        }
        var count = first & 0x7F;
        if (count is 0 or > 3 || at + count >= data.Length)
        {
            return (-1, 1);
        }
        var length = 0;
        for (var i = 1; i <= count; i++)
        {
            length = (length << 8) | data[at + i];
        }
        return (length, 1 + count);
    }

    /// <summary>Tag, DER length, content.</summary>
    public static byte[] Tlv(byte tag, ReadOnlySpan<byte> content)
    {
        var length = content.Length;
        byte[] header = length switch
        {
            < 0x80 => [tag, (byte)length],
            < 0x100 => [tag, 0x81, (byte)length],
            < 0x10000 => [tag, 0x82, (byte)(length >> 8), (byte)length],
            _ => [tag, 0x83, (byte)(length >> 16), (byte)(length >> 8), (byte)length],
        };
        return [.. header, .. content];
    }
}
