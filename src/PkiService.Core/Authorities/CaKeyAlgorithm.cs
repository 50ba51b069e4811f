using System.Security.Cryptography;

namespace PkiService.Core.Authorities;

/// <summary>Key algorithms a CA (or the OCSP responder) key can be generated with.</summary>
public enum CaKeyAlgorithm
{
    EcdsaP256,
    EcdsaP384,
    Rsa2048,
    Rsa3072,
    Rsa4096,
}

/// <summary>Generation of CA keys with System.Security.Cryptography (OpenSSL underneath).</summary>
public static class CaKeyAlgorithms
{
    /// <summary>Creates a fresh private key of the given algorithm.</summary>
    public static AsymmetricAlgorithm Generate(CaKeyAlgorithm algorithm) => algorithm switch
    {
        CaKeyAlgorithm.EcdsaP256 => ECDsa.Create(ECCurve.NamedCurves.nistP256),
        CaKeyAlgorithm.EcdsaP384 => ECDsa.Create(ECCurve.NamedCurves.nistP384),
        CaKeyAlgorithm.Rsa2048 => RSA.Create(2048),
        CaKeyAlgorithm.Rsa3072 => RSA.Create(3072),
        CaKeyAlgorithm.Rsa4096 => RSA.Create(4096),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "Unknown CA key algorithm."),
    };
}
