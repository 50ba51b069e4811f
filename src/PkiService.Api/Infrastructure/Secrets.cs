using System.Security.Cryptography;
using System.Text;

namespace PkiService.Api.Infrastructure;

/// <summary>Bearer secrets (enrollment tokens, API keys): generated from a CSPRNG, stored only as SHA-256.</summary>
public static class Secrets
{
    public const string EnrollmentTokenPrefix = "pki_et_";
    public const string ApiKeyPrefix = "pki_ak_";

    /// <summary>A new secret: the prefix and 32 random bytes in base64url.</summary>
    public static string Generate(string prefix) =>
        prefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    /// <summary>A short random public identifier.</summary>
    public static string NewId() => Base64Url(RandomNumberGenerator.GetBytes(9));

    /// <summary>SHA-256 of the secret's UTF-8 bytes: the only form that is stored.</summary>
    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    /// <summary>Compares a stored hash with a presented secret in constant time.</summary>
    public static bool Matches(byte[] storedHash, string presented) =>
        CryptographicOperations.FixedTimeEquals(storedHash, Hash(presented));

    /// <summary>The credential from an <c>Authorization: Bearer</c> header, if there is one.</summary>
    public static string? ReadBearer(string? authorizationHeader)
    {
        const string scheme = "Bearer ";
        if (authorizationHeader is null || !authorizationHeader.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        var value = authorizationHeader[scheme.Length..].Trim();
        return value.Length is > 0 and <= 512 ? value : null;
    }

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
