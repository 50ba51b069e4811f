using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PkiService.AspNetCore.Tests.Support;

/// <summary>
/// A CA that is not PkiService's but copies its names: a root and an issuing CA with the same subjects, issuing leaf
/// certificates with clientAuth. What an attacker who knows the names (they are public) can make.
/// </summary>
public sealed class ForeignCa : IDisposable
{
    public ForeignCa(string rootSubject, string issuingSubject)
    {
        using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rootRequest = new CertificateRequest(rootSubject, rootKey, HashAlgorithmName.SHA256);
        rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        rootRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        Root = rootRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));

        IssuingKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var issuingRequest = new CertificateRequest(issuingSubject, IssuingKey, HashAlgorithmName.SHA256);
        issuingRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        issuingRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        issuingRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(issuingRequest.PublicKey, false));
        using var issuing = issuingRequest.Create(Root, DateTimeOffset.UtcNow.AddHours(-12), DateTimeOffset.UtcNow.AddMonths(6), Serial());
        Issuing = issuing.CopyWithPrivateKey(IssuingKey);
    }

    public X509Certificate2 Root { get; }

    public X509Certificate2 Issuing { get; }

    private ECDsa IssuingKey { get; }

    /// <summary>
    /// A client certificate (clientAuth) for <paramref name="subject"/>, with its key, and an AIA caIssuers URL when
    /// <paramref name="caIssuersUrl"/> is given.
    /// </summary>
    public X509Certificate2 IssueClient(string subject, string? caIssuersUrl = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        // As PkiService writes it (RFC 5280 4.2.1.1). Without it OpenSSL may pick, by name alone, a PkiService issuing
        // CA that .NET persisted in the user's CA store (it keeps the intermediates of served chains there on Linux),
        // and fail the handshake before the package's validator sees the certificate.
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Issuing, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        if (caIssuersUrl is not null)
        {
            request.CertificateExtensions.Add(new X509AuthorityInformationAccessExtension(null, [caIssuersUrl]));
        }
        using var leaf = request.Create(Issuing, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(30), Serial());
        using var withKey = leaf.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>A positive serial in minimal DER (RFC 5280 4.1.2.2): OpenSSL refuses the handshake over a negative one.</summary>
    private static byte[] Serial()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x01);
        return serial;
    }

    public void Dispose()
    {
        Root.Dispose();
        Issuing.Dispose();
        IssuingKey.Dispose();
    }
}
