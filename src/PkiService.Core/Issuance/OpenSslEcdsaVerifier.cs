using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace PkiService.Core.Issuance;

/// <summary>
/// Verifies ECDSA P-256 and P-384 signatures (RFC 5758 3.2, signature as DER SEQUENCE { r, s }, RFC 3279 2.2.3) with
/// libcrypto's EC_KEY functions directly, for CSR proof of possession (RFC 2986 4.2).
/// </summary>
/// <remarks>
/// Why not <c>ECDsa.ImportSubjectPublicKeyInfo</c>: on OpenSSL 3 importing a fresh public key costs about twice
/// the verification itself (a new EC_GROUP, a full key check that multiplies the point by the group order, and the
/// export of the legacy key to a provider), and every CSR brings a fresh key. Here the point is decoded with
/// <c>o2i_ECPublicKey</c>, which checks that it is on the curve (enough for a prime-order curve such as P-256 and P-384,
/// SEC 1 3.2.2.1), and verified with <c>ECDSA_verify</c>. Only uncompressed points are taken this way (what .NET accepts);
/// anything else, and any platform without libcrypto 3 or 1.1, goes to .NET (<see cref="IsAvailable"/> is false there).
/// </remarks>
public static unsafe class OpenSslEcdsaVerifier
{
    private const int NidP256 = 415; // NID_X9_62_prime256v1
    private const int NidP384 = 715; // NID_secp384r1

    private static readonly Native? _native = Native.Load();

    /// <summary>True when libcrypto was found and exports what this verifier calls.</summary>
    public static bool IsAvailable => _native is not null;

    /// <summary>
    /// Verifies <paramref name="signature"/> over <paramref name="data"/> hashed with <paramref name="hash"/> under the
    /// uncompressed point <paramref name="point"/> (0x04 || X || Y) on the curve of <paramref name="curveBits"/> bits (P-256 or P-384); null
    /// when this verifier cannot answer (no libcrypto, another curve or point form): the caller verifies with .NET then.
    /// </summary>
    public static bool? TryVerify(ReadOnlySpan<byte> point, int curveBits, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature, HashAlgorithmName hash)
    {
        var native = _native;
        var nid = curveBits switch { 256 => NidP256, 384 => NidP384, _ => 0 };
        if (native is null || nid == 0 || point.Length != 1 + 2 * ((curveBits + 7) / 8) || point[0] != 0x04)
        {
            return null;
        }
        Span<byte> digest = stackalloc byte[64];
        var digestLength = hash.Name switch
        {
            "SHA256" => SHA256.HashData(data, digest),
            "SHA384" => SHA384.HashData(data, digest),
            "SHA512" => SHA512.HashData(data, digest),
            _ => -1,
        };
        if (digestLength < 0 || signature.IsEmpty)
        {
            return null;
        }
        var key = native.NewKeyByCurveName(nid);
        if (key == IntPtr.Zero)
        {
            native.ClearErrors();
            return null;
        }
        try
        {
            fixed (byte* pointBytes = point)
            fixed (byte* signatureBytes = signature)
            fixed (byte* digestBytes = digest)
            {
                var cursor = pointBytes;
                var decoded = key;
                // o2i_ECPublicKey sets the point on the key's group, refusing a point that is not on the curve.
                if (native.PointToKey(&decoded, &cursor, point.Length) == IntPtr.Zero || cursor != pointBytes + point.Length)
                {
                    native.ClearErrors();
                    return false;
                }
                // 1 verified, 0 wrong signature, -1 malformed signature (ECDSA_verify also refuses a non-DER encoding).
                var result = native.Verify(0, digestBytes, digestLength, signatureBytes, signature.Length, key);
                if (result != 1)
                {
                    native.ClearErrors();
                }
                return result == 1;
            }
        }
        finally
        {
            native.FreeKey(key);
        }
    }

    private sealed class Native
    {
        public delegate* unmanaged<int, IntPtr> NewKeyByCurveName;
        public delegate* unmanaged<IntPtr*, byte**, long, IntPtr> PointToKey;
        public delegate* unmanaged<int, byte*, int, byte*, int, IntPtr, int> Verify;
        public delegate* unmanaged<IntPtr, void> FreeKey;
        public delegate* unmanaged<void> ClearErrors;

        public static Native? Load()
        {
            if (!OperatingSystem.IsLinux())
            {
                return null;
            }
            foreach (var name in new[] { "libcrypto.so.3", "libcrypto.so.1.1" })
            {
                if (!NativeLibrary.TryLoad(name, out var library))
                {
                    continue;
                }
                if (NativeLibrary.TryGetExport(library, "EC_KEY_new_by_curve_name", out var newKey)
                    && NativeLibrary.TryGetExport(library, "o2i_ECPublicKey", out var o2i)
                    && NativeLibrary.TryGetExport(library, "ECDSA_verify", out var verify)
                    && NativeLibrary.TryGetExport(library, "EC_KEY_free", out var free)
                    && NativeLibrary.TryGetExport(library, "ERR_clear_error", out var clear))
                {
                    return new Native
                    {
                        NewKeyByCurveName = (delegate* unmanaged<int, IntPtr>)newKey,
                        PointToKey = (delegate* unmanaged<IntPtr*, byte**, long, IntPtr>)o2i,
                        Verify = (delegate* unmanaged<int, byte*, int, byte*, int, IntPtr, int>)verify,
                        FreeKey = (delegate* unmanaged<IntPtr, void>)free,
                        ClearErrors = (delegate* unmanaged<void>)clear,
                    };
                }
            }
            return null;
        }
    }
}
