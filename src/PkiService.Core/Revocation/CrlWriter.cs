using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using PkiService.Core.Authorities;
using PkiService.Core.Primitives;

namespace PkiService.Core.Revocation;

/// <summary>
/// Writes an X.509 v2 CRL (RFC 5280 5.1) straight to DER: entries are kept as fixed-size values, sorted by serial,
/// measured once, then encoded into one pooled buffer that is signed in place, so memory stays proportional to the
/// output and no object is created per entry. One writer builds one CRL; it is not thread-safe.
/// </summary>
/// <remarks>
/// The encoding matches BouncyCastle's <c>X509V2CrlGenerator</c> byte for byte for the same input (entries in the same
/// order, the same extensions): version v2, the signature AlgorithmIdentifier, the issuer Name copied from the CA
/// certificate, thisUpdate and nextUpdate (UTCTime for 1950-2049, GeneralizedTime otherwise, RFC 5280 5.1.2.4),
/// revokedCertificates (left out when there are none, RFC 5280 5.1.2.6), and the crlExtensions.
/// </remarks>
public sealed class CrlWriter
{
    // Extension OIDs, DER-encoded with their tag and length (RFC 5280 4.2.1.1, 5.2.3, 5.2.4, 5.2.6, 5.3.1, 5.3.2).
    private static readonly byte[] _reasonCodeOid = [0x06, 0x03, 0x55, 0x1D, 0x15];
    private static readonly byte[] _invalidityDateOid = [0x06, 0x03, 0x55, 0x1D, 0x18];
    private static readonly byte[] _authorityKeyIdentifierOid = [0x06, 0x03, 0x55, 0x1D, 0x23];
    private static readonly byte[] _crlNumberOid = [0x06, 0x03, 0x55, 0x1D, 0x14];
    private static readonly byte[] _deltaCrlIndicatorOid = [0x06, 0x03, 0x55, 0x1D, 0x1B];
    private static readonly byte[] _freshestCrlOid = [0x06, 0x03, 0x55, 0x1D, 0x2E];

    /// <summary>Length of an encoded reasonCode extension: SEQUENCE { OID, OCTET STRING { ENUMERATED } }.</summary>
    private const int ReasonCodeExtensionLength = 2 + 5 + 2 + 3;

    /// <summary>Length of an encoded invalidityDate extension: SEQUENCE { OID, OCTET STRING { GeneralizedTime } }.</summary>
    private const int InvalidityDateExtensionLength = 2 + 5 + 2 + 17;

    private const long NoInvalidityDate = long.MinValue;

    private readonly CertificateAuthority _issuer;
    private readonly byte[] _signatureAlgorithm;
    private Entry[] _entries;
    private int _count;

    /// <param name="issuer">The CA that signs the CRL.</param>
    /// <param name="capacity">How many entries to make room for up front (grows as needed).</param>
    public CrlWriter(CertificateAuthority issuer, int capacity = 0)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _issuer = issuer;
        _signatureAlgorithm = ((Org.BouncyCastle.Asn1.X509.AlgorithmIdentifier)issuer.SignatureFactory.AlgorithmDetails).GetDerEncoded();
        _entries = capacity == 0 ? [] : new Entry[capacity];
    }

    /// <summary>How many entries were added.</summary>
    public int Count => _count;

    /// <summary>Adds one revoked certificate.</summary>
    public void Add(RevokedCertificate entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Span<byte> serial = stackalloc byte[SerialNumber.MaxOctets];
        var status = Convert.FromHexString(entry.SerialNumber.Hex, serial, out _, out var written);
        if (status != OperationStatus.Done)
        {
            throw new ArgumentException($"Serial {entry.SerialNumber.Hex} is longer than {SerialNumber.MaxOctets} octets.", nameof(entry));
        }
        Add(serial[..written], entry.RevocationDate, entry.Reason, entry.InvalidityDate);
    }

    /// <summary>Adds one revoked certificate given by its serial as big-endian unsigned octets.</summary>
    /// <param name="serial">The positive serial (RFC 5280 4.1.2.2), at most 20 octets after leading zeros.</param>
    /// <param name="revocationDate">RFC 5280 5.1.2.6 revocationDate; fractions of a second are dropped.</param>
    /// <param name="reason">RFC 5280 5.3.1; <see cref="RevocationReason.Unspecified"/> writes no reasonCode.</param>
    /// <param name="invalidityDate">RFC 5280 5.3.2, if known.</param>
    public void Add(ReadOnlySpan<byte> serial, DateTimeOffset revocationDate, RevocationReason reason, DateTimeOffset? invalidityDate = null)
    {
        var significant = serial.IndexOfAnyExcept((byte)0);
        if (significant < 0)
        {
            throw new ArgumentException("A serial number must be positive (RFC 5280 4.1.2.2).", nameof(serial));
        }
        serial = serial[significant..];
        if (serial.Length > SerialNumber.MaxOctets)
        {
            throw new ArgumentException($"A serial number has at most {SerialNumber.MaxOctets} octets (RFC 5280 4.1.2.2).", nameof(serial));
        }
        var code = reason.ToCrlReasonCode(); // throws for a reason the service does not use
        if (_count == _entries.Length)
        {
            Array.Resize(ref _entries, Math.Max(16, _entries.Length * 2));
        }
        ref var slot = ref _entries[_count++];
        slot = default;
        serial.CopyTo(slot.Serial);
        slot.SerialLength = (byte)serial.Length;
        Span<byte> prefix = stackalloc byte[sizeof(ulong)];
        serial[..Math.Min(serial.Length, prefix.Length)].CopyTo(prefix);
        slot.Prefix = BinaryPrimitives.ReadUInt64BigEndian(prefix);
        slot.Reason = (byte)code;
        slot.RevocationDate = revocationDate.ToUnixTimeSeconds();
        slot.InvalidityDate = invalidityDate is { } invalidity ? invalidity.ToUnixTimeSeconds() : NoInvalidityDate;
    }

    /// <summary>
    /// Sorts the entries by serial, encodes the TBSCertList, signs it with the issuer's key and returns the CertificateList
    /// (RFC 5280 5.1). Throws when a serial was added twice.
    /// </summary>
    /// <param name="crlNumber">RFC 5280 5.2.3 cRLNumber: non-negative, at most 20 octets.</param>
    /// <param name="thisUpdate">RFC 5280 5.1.2.4; fractions of a second are dropped.</param>
    /// <param name="nextUpdate">RFC 5280 5.1.2.5; fractions of a second are dropped.</param>
    /// <param name="baseCrlNumber">For a delta CRL, the number of its base CRL (RFC 5280 5.2.4 deltaCRLIndicator, critical).</param>
    /// <param name="freshestCrlUrl">For a complete CRL, where its delta CRLs are (RFC 5280 5.2.6 freshestCRL, non-critical).</param>
    public SignedCrl Write(BigInteger crlNumber, DateTimeOffset thisUpdate, DateTimeOffset nextUpdate, BigInteger? baseCrlNumber = null, string? freshestCrlUrl = null)
    {
        if (baseCrlNumber is not null && freshestCrlUrl is not null)
        {
            throw new ArgumentException("RFC 5280 5.2.6: a delta CRL must not carry a freshestCRL extension.", nameof(freshestCrlUrl));
        }
        var entries = _entries.AsSpan(0, _count);
        entries.Sort(); // Entry is IComparable<Entry>: the sort calls CompareTo directly, no delegate
        for (var i = 1; i < entries.Length; i++)
        {
            if (entries[i - 1].CompareTo(in entries[i]) == 0)
            {
                var hex = Convert.ToHexString(entries[i].Serial[..entries[i].SerialLength]);
                throw new ArgumentException($"Serial {hex} is listed more than once; a CRL names each certificate once.");
            }
        }

        var extensions = CrlExtensions(crlNumber, baseCrlNumber, freshestCrlUrl);
        var issuerName = _issuer.SubjectDer;
        var thisUpdateSeconds = thisUpdate.ToUnixTimeSeconds();
        var nextUpdateSeconds = nextUpdate.ToUnixTimeSeconds();

        long revokedContent = 0;
        foreach (ref readonly var entry in entries)
        {
            revokedContent += TotalLength(entry.ContentLength);
        }
        var revokedLength = entries.IsEmpty ? 0 : TotalLength(revokedContent);
        var extensionsLength = TotalLength(TotalLength(extensions.Length)); // [0] EXPLICIT SEQUENCE OF Extension
        var tbsContent = 3 + _signatureAlgorithm.Length + issuerName.Length + TimeLength(thisUpdateSeconds) + TimeLength(nextUpdateSeconds)
            + revokedLength + extensionsLength;
        var tbsLength = TotalLength(tbsContent);
        if (tbsLength > Array.MaxLength / 2)
        {
            throw new InvalidOperationException($"A CRL of {tbsLength:N0} octets is too large to build in memory.");
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)tbsLength);
        try
        {
            var tbs = buffer.AsSpan(0, (int)tbsLength);
            var position = 0;
            WriteHeader(tbs, ref position, 0x30, tbsContent);
            WriteBytes(tbs, ref position, [0x02, 0x01, 0x01]); // version v2 (RFC 5280 5.1.2.1)
            WriteBytes(tbs, ref position, _signatureAlgorithm);
            WriteBytes(tbs, ref position, issuerName);
            WriteTime(tbs, ref position, thisUpdateSeconds);
            WriteTime(tbs, ref position, nextUpdateSeconds);
            if (!entries.IsEmpty)
            {
                WriteHeader(tbs, ref position, 0x30, revokedContent);
                foreach (ref readonly var entry in entries)
                {
                    WriteEntry(tbs, ref position, in entry);
                }
            }
            WriteHeader(tbs, ref position, 0xA0, TotalLength(extensions.Length));
            WriteHeader(tbs, ref position, 0x30, extensions.Length);
            WriteBytes(tbs, ref position, extensions);
            if (position != tbs.Length)
            {
                throw new InvalidOperationException($"CRL encoding wrote {position} octets where {tbs.Length} were measured.");
            }

            // RFC 5280 5.1.1: CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }.
            var signature = _issuer.SignatureFactory is DotNetSignatureFactory factory
                ? factory.Sign(tbs)
                : throw new InvalidOperationException("The CA's signature factory cannot sign raw bytes.");
            var bitStringLength = TotalLength(1L + signature.Length);
            var content = tbsLength + _signatureAlgorithm.Length + bitStringLength;
            var der = GC.AllocateUninitializedArray<byte>((int)TotalLength(content));
            var outer = 0;
            WriteHeader(der, ref outer, 0x30, content);
            WriteBytes(der, ref outer, tbs);
            WriteBytes(der, ref outer, _signatureAlgorithm);
            WriteHeader(der, ref outer, 0x03, 1L + signature.Length);
            der[outer++] = 0; // no unused bits
            WriteBytes(der, ref outer, signature);
            return new SignedCrl(crlNumber, DateTimeOffset.FromUnixTimeSeconds(thisUpdateSeconds), DateTimeOffset.FromUnixTimeSeconds(nextUpdateSeconds),
                entries.Length, der, baseCrlNumber);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The DER of the Extension values in crlExtensions, in the order BouncyCastle's generator writes them when added in this order.</summary>
    private byte[] CrlExtensions(BigInteger crlNumber, BigInteger? baseCrlNumber, string? freshestCrlUrl)
    {
        var writer = new ArrayBufferWriter<byte>(256);
        // RFC 5280 5.2.1: AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING }, non-critical.
        var keyId = _issuer.SubjectKeyIdentifier;
        var aki = Encode(0x30, Encode(0x80, keyId));
        writer.Write(Extension(_authorityKeyIdentifierOid, critical: false, aki));
        // RFC 5280 5.2.3: cRLNumber, non-critical.
        writer.Write(Extension(_crlNumberOid, critical: false, EncodeInteger(crlNumber)));
        if (baseCrlNumber is { } baseNumber)
        {
            // RFC 5280 5.2.4: deltaCRLIndicator is critical and carries the base CRL's number.
            writer.Write(Extension(_deltaCrlIndicatorOid, critical: true, EncodeInteger(baseNumber)));
        }
        if (freshestCrlUrl is not null)
        {
            // RFC 5280 5.2.6: FreshestCRL ::= CRLDistributionPoints, non-critical.
            writer.Write(Extension(_freshestCrlOid, critical: false, PublicationPoints.EncodeDistributionPoints(freshestCrlUrl)));
        }
        return writer.WrittenSpan.ToArray();
    }

    private static byte[] Extension(byte[] oid, bool critical, byte[] value)
    {
        // Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } (RFC 5280 4.1).
        byte[] criticalFlag = critical ? [0x01, 0x01, 0xFF] : [];
        return Encode(0x30, [.. oid, .. criticalFlag, .. Encode(0x04, value)]);
    }

    private static byte[] EncodeInteger(BigInteger value)
    {
        if (value.Sign < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "CRL numbers are non-negative (RFC 5280 5.2.3).");
        }
        return Encode(0x02, value.ToByteArray(isUnsigned: false, isBigEndian: true)); // minimal two's complement
    }

    private static byte[] Encode(byte tag, ReadOnlySpan<byte> content)
    {
        var result = new byte[TotalLength(content.Length)];
        var position = 0;
        WriteHeader(result, ref position, tag, content.Length);
        WriteBytes(result, ref position, content);
        return result;
    }

    private static void WriteEntry(Span<byte> output, ref int position, in Entry entry)
    {
        WriteHeader(output, ref position, 0x30, entry.ContentLength);
        // userCertificate CertificateSerialNumber: a positive INTEGER, so a leading 0x00 when the top bit is set.
        var serial = entry.Serial[..entry.SerialLength];
        var pad = serial[0] >= 0x80 ? 1 : 0;
        output[position++] = 0x02;
        output[position++] = (byte)(serial.Length + pad);
        if (pad == 1)
        {
            output[position++] = 0;
        }
        WriteBytes(output, ref position, serial);
        WriteTime(output, ref position, entry.RevocationDate);
        var extensions = entry.ExtensionsLength;
        if (extensions == 0)
        {
            return;
        }
        WriteHeader(output, ref position, 0x30, extensions);
        if (entry.Reason != 0)
        {
            // RFC 5280 5.3.1: reasonCode, non-critical, CRLReason ::= ENUMERATED; absent for unspecified.
            output[position++] = 0x30;
            output[position++] = ReasonCodeExtensionLength - 2;
            WriteBytes(output, ref position, _reasonCodeOid);
            WriteBytes(output, ref position, [0x04, 0x03, 0x0A, 0x01, entry.Reason]);
        }
        if (entry.InvalidityDate != NoInvalidityDate)
        {
            // RFC 5280 5.3.2: invalidityDate, non-critical, always a GeneralizedTime.
            output[position++] = 0x30;
            output[position++] = InvalidityDateExtensionLength - 2;
            WriteBytes(output, ref position, _invalidityDateOid);
            output[position++] = 0x04;
            output[position++] = 17;
            WriteGeneralizedTime(output, ref position, entry.InvalidityDate);
        }
    }

    /// <summary>RFC 5280 5.1.2.4: UTCTime through 2049, GeneralizedTime from 2050 (and before 1950).</summary>
    private static void WriteTime(Span<byte> output, ref int position, long unixSeconds)
    {
        if (!IsUtcTimeRange(unixSeconds))
        {
            WriteGeneralizedTime(output, ref position, unixSeconds);
            return;
        }
        output[position++] = 0x17;
        output[position++] = 13;
        WriteDigits(output, ref position, unixSeconds, century: false);
    }

    private static void WriteGeneralizedTime(Span<byte> output, ref int position, long unixSeconds)
    {
        output[position++] = 0x18;
        output[position++] = 15;
        WriteDigits(output, ref position, unixSeconds, century: true);
    }

    /// <summary>[YY]YYMMDDHHMMSSZ: RFC 5280 4.1.2.5.1 and 4.1.2.5.2 (seconds always present, always Zulu).</summary>
    private static void WriteDigits(Span<byte> output, ref int position, long unixSeconds, bool century)
    {
        var time = DateTime.UnixEpoch.AddTicks(unixSeconds * TimeSpan.TicksPerSecond);
        var (year, month, day) = time; // one date decomposition instead of one per property
        var secondsOfDay = (int)(time.Ticks / TimeSpan.TicksPerSecond % 86_400);
        if (century)
        {
            WriteTwoDigits(output, ref position, year / 100);
        }
        WriteTwoDigits(output, ref position, year % 100);
        WriteTwoDigits(output, ref position, month);
        WriteTwoDigits(output, ref position, day);
        WriteTwoDigits(output, ref position, secondsOfDay / 3600);
        WriteTwoDigits(output, ref position, secondsOfDay / 60 % 60);
        WriteTwoDigits(output, ref position, secondsOfDay % 60);
        output[position++] = (byte)'Z';
    }

    private static void WriteTwoDigits(Span<byte> output, ref int position, int value)
    {
        output[position++] = (byte)('0' + value / 10);
        output[position++] = (byte)('0' + value % 10);
    }

    private static int TimeLength(long unixSeconds) => IsUtcTimeRange(unixSeconds) ? 15 : 17;

    /// <summary>1950-01-01T00:00:00Z and 2050-01-01T00:00:00Z in Unix seconds: RFC 5280 5.1.2.4's UTCTime window.</summary>
    private const long UtcTimeFrom = -631_152_000, UtcTimeUntil = 2_524_608_000;

    private static bool IsUtcTimeRange(long unixSeconds) => unixSeconds is >= UtcTimeFrom and < UtcTimeUntil;

    /// <summary>Tag, length and content octets of a DER value whose content is <paramref name="content"/> octets (X.690 8.1.3).</summary>
    private static long TotalLength(long content) => 1 + LengthOfLength(content) + content;

    private static int LengthOfLength(long content) => content switch
    {
        < 0x80 => 1,
        <= 0xFF => 2,
        <= 0xFFFF => 3,
        <= 0xFF_FFFF => 4,
        _ => 5,
    };

    private static void WriteHeader(Span<byte> output, ref int position, byte tag, long content)
    {
        output[position++] = tag;
        var lengthOctets = LengthOfLength(content) - 1;
        if (lengthOctets == 0)
        {
            output[position++] = (byte)content;
            return;
        }
        // X.690 8.1.3.5: long form, the minimum number of octets.
        output[position++] = (byte)(0x80 | lengthOctets);
        Span<byte> bigEndian = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bigEndian, content);
        WriteBytes(output, ref position, bigEndian[(8 - lengthOctets)..]);
    }

    private static void WriteBytes(Span<byte> output, ref int position, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(output[position..]);
        position += bytes.Length;
    }

    /// <summary>One revoked certificate, stored inline so a million of them are one array and no objects.</summary>
    private struct Entry : IComparable<Entry>
    {
        /// <summary>The first eight serial octets, big-endian (zero-padded), so most comparisons are one integer compare.</summary>
        public ulong Prefix;
        public SerialOctets Serial;
        public byte SerialLength;
        public byte Reason;
        public long RevocationDate;
        public long InvalidityDate;

        /// <summary>Octets of the extensions SEQUENCE's content.</summary>
        public readonly int ExtensionsLength =>
            (Reason != 0 ? ReasonCodeExtensionLength : 0) + (InvalidityDate != NoInvalidityDate ? InvalidityDateExtensionLength : 0);

        /// <summary>Octets of the entry SEQUENCE's content: serial INTEGER, revocationDate, crlEntryExtensions.</summary>
        public readonly int ContentLength
        {
            get
            {
                var serial = 2 + SerialLength + (Serial[0] >= 0x80 ? 1 : 0);
                var extensions = ExtensionsLength;
                return serial + TimeLength(RevocationDate) + (extensions == 0 ? 0 : (int)TotalLength(extensions));
            }
        }

        /// <summary>Numeric order of the serials: shorter first, then octet by octet (both have no leading zeros).</summary>
        public readonly int CompareTo(in Entry other)
        {
            if (SerialLength != other.SerialLength)
            {
                return SerialLength < other.SerialLength ? -1 : 1;
            }
            if (Prefix != other.Prefix)
            {
                return Prefix < other.Prefix ? -1 : 1;
            }
            return SerialLength <= sizeof(ulong) ? 0 : ((ReadOnlySpan<byte>)Serial[..SerialLength]).SequenceCompareTo(other.Serial[..SerialLength]);
        }

        public readonly int CompareTo(Entry other) => CompareTo(in other);
    }

    [System.Runtime.CompilerServices.InlineArray(SerialNumber.MaxOctets)]
    private struct SerialOctets
    {
        private byte _first;
    }
}
