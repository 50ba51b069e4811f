using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using PkiService.Core.Errors;

namespace PkiService.Core.Primitives;

/// <summary>
/// A certificate serial number in its one canonical form: uppercase hexadecimal, no separators,
/// no leading zero octets beyond what keeps the DER INTEGER positive. Parsing and formatting
/// live here and nowhere else.
/// </summary>
public readonly record struct SerialNumber
{
    /// <summary>RFC 5280 4.1.2.2: serials are at most 20 octets.</summary>
    public const int MaxOctets = 20;

    /// <summary>Octets of CSPRNG output in every serial we generate (128 bits, well over the CA/B 64-bit minimum).</summary>
    public const int RandomOctets = 16;

    private SerialNumber(string hex) => Hex = hex;

    /// <summary>Canonical uppercase hexadecimal form.</summary>
    public string Hex { get; }

    /// <summary>A fresh positive serial of <see cref="RandomOctets"/> random octets (the top bit cleared, never zero).</summary>
    public static SerialNumber NewRandom()
    {
        Span<byte> bytes = stackalloc byte[RandomOctets];
        do
        {
            RandomNumberGenerator.Fill(bytes);
            bytes[0] &= 0x7F; // RFC 5280 4.1.2.2: the serial must be a positive integer
        }
        while (bytes[0] == 0); // keep the full 16-octet length so serials have one width
        return FromUnsignedBytes(bytes);
    }

    /// <summary>Builds the canonical form from big-endian unsigned octets.</summary>
    public static SerialNumber FromUnsignedBytes(ReadOnlySpan<byte> bytes)
    {
        var value = new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
        return FromBigInteger(value);
    }

    /// <summary>Builds the canonical form from a positive integer.</summary>
    public static SerialNumber FromBigInteger(BigInteger value)
    {
        if (value.Sign <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(value), "A serial number must be positive (RFC 5280 4.1.2.2).");
        }
        return new SerialNumber(Convert.ToHexString(value.ToByteArray(isUnsigned: true, isBigEndian: true)));
    }

    /// <summary>Builds the canonical form from BouncyCastle's integer type.</summary>
    public static SerialNumber FromBouncyCastle(Org.BouncyCastle.Math.BigInteger value) =>
        FromUnsignedBytes(value.ToByteArrayUnsigned());

    /// <summary>
    /// Parses a serial typed by a person: hexadecimal, case-insensitive, optional colons or spaces
    /// between octets (as <c>openssl x509 -serial</c> and browsers print it).
    /// </summary>
    public static bool TryParse(string? text, out SerialNumber serial)
    {
        serial = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        var digits = text.Trim().Replace(":", string.Empty, StringComparison.Ordinal).Replace(" ", string.Empty, StringComparison.Ordinal);
        if (digits.Length == 0 || digits.Length > MaxOctets * 2 + 2 || !digits.All(Uri.IsHexDigit))
        {
            return false;
        }
        var value = BigInteger.Parse("0" + digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        if (value.Sign <= 0 || value.GetByteCount(isUnsigned: true) > MaxOctets)
        {
            return false;
        }
        serial = FromBigInteger(value);
        return true;
    }

    /// <summary>Parses like <see cref="TryParse"/>; otherwise throws an <see cref="InvalidRequestException"/> that says how to write a serial.</summary>
    public static SerialNumber Parse(string? text) =>
        TryParse(text, out var serial)
            ? serial
            : throw new InvalidRequestException($"'{text}' is not a serial number; use hexadecimal digits (for example 3A9F01...).");

    /// <summary>The serial as a BouncyCastle integer for certificate and CRL builders.</summary>
    public Org.BouncyCastle.Math.BigInteger ToBouncyCastle() => new(Hex, 16);

    public override string ToString() => Hex;
}
