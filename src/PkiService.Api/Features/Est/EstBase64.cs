using System.Buffers.Text;

namespace PkiService.Api.Features.Est;

/// <summary>
/// Base64 as EST answers carry it (RFC 7030 4.1.3 as updated by RFC 8951 3.2: a base64 body with
/// <c>Content-Transfer-Encoding: base64</c>): 64-character lines (RFC 2045 6.8 allows at most 76), each ended by the
/// given line break, the last one too.
/// </summary>
public static class EstBase64
{
    /// <summary>Characters per line: 48 bytes of input.</summary>
    public const int LineLength = 64;

    private const int BytesPerLine = LineLength / 4 * 3;

    /// <summary>The exact size of <see cref="Write"/>'s output for <paramref name="length"/> bytes.</summary>
    public static int EncodedLength(int length, string lineBreak)
    {
        var characters = Base64.GetMaxEncodedToUtf8Length(length);
        var lines = (characters + LineLength - 1) / LineLength;
        return characters + lines * lineBreak.Length;
    }

    /// <summary>Writes the base64 of <paramref name="data"/> in lines into <paramref name="destination"/>; returns the bytes written.</summary>
    public static int Write(ReadOnlySpan<byte> data, Span<byte> destination, string lineBreak)
    {
        var written = 0;
        for (var offset = 0; offset < data.Length; offset += BytesPerLine)
        {
            var chunk = data.Slice(offset, Math.Min(BytesPerLine, data.Length - offset));
            Base64.EncodeToUtf8(chunk, destination[written..], out _, out var encoded);
            written += encoded;
            foreach (var c in lineBreak)
            {
                destination[written++] = (byte)c;
            }
        }
        return written;
    }

    /// <summary>The base64 of <paramref name="data"/> in lines, as ASCII bytes.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> data, string lineBreak = "\n")
    {
        var output = new byte[EncodedLength(data.Length, lineBreak)];
        Write(data, output, lineBreak);
        return output;
    }
}
