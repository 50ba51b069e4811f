using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PkiService.Api.Tests.Support;
using PkiService.Core.Authorities;

namespace PkiService.Api.Tests.Features.RootCrl;

/// <summary>
/// A root made outside the service (System.Security.Cryptography, as an offline ceremony would), with
/// <paramref name="intermediates"/> CAs under it, that certifies an issuing CA installed in a data directory as
/// <c>ca install-issuing</c> leaves it: the issuing key and certificate in the file store, the chain without keys.
/// </summary>
public sealed class ExternalRoot : IDisposable
{
    private readonly List<X509Certificate2> _intermediates = [];

    public ExternalRoot(string dataDirectory, int intermediates)
    {
        Root = SelfSigned("CN=External Root, O=Example", pathLength: null);
        var issuer = Root;
        for (var level = 1; level <= intermediates; level++)
        {
            issuer = Sign(issuer, $"CN=External Intermediate {level}, O=Example", ECDsa.Create(ECCurve.NamedCurves.nistP384), pathLength: intermediates - level + 1);
            _intermediates.Insert(0, issuer);
        }
        using var issuingKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var issuing = Sign(issuer, "CN=Installed Issuing CA, O=Example", issuingKey, pathLength: 0);
        new FileCaKeyProvider(new FileCaKeyStore(dataDirectory), PkiApiFactory.Passphrase).Save(CaHierarchy.IssuingName, issuing.RawData, issuingKey);
        new FileCaKeyStore(dataDirectory).SaveCertificates(CaHierarchy.ChainName, [.. _intermediates.Select(c => c.RawData), Root.RawData]);
        IssuingDer = issuing.RawData;
    }

    /// <summary>The external root, with its key (only this test holds it).</summary>
    public X509Certificate2 Root { get; }

    /// <summary>The intermediates, the issuing CA's issuer first.</summary>
    public IReadOnlyList<X509Certificate2> Intermediates => _intermediates;

    public byte[] IssuingDer { get; }

    /// <summary>An empty CRL (RFC 5280 5) signed by <paramref name="issuer"/>, DER.</summary>
    public static byte[] Crl(X509Certificate2 issuer, BigInteger number, DateTimeOffset nextUpdate) =>
        new CertificateRevocationListBuilder().Build(issuer, number, nextUpdate, HashAlgorithmName.SHA384);

    /// <summary>
    /// Asserts that <paramref name="certificatePem"/> chains, through the certificates in <paramref name="chainPem"/>,
    /// to <paramref name="root"/> trusted alone; returns the number of certificates in the path, the root included.
    /// </summary>
    public static int AssertChainsTo(X509Certificate2 root, string certificatePem, string chainPem)
    {
        using var certificate = X509Certificate2.CreateFromPem(certificatePem);
        var chain = new X509Certificate2Collection();
        chain.ImportFromPem(chainPem);
        using var verifier = new X509Chain();
        verifier.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        verifier.ChainPolicy.CustomTrustStore.Add(X509CertificateLoader.LoadCertificate(root.RawData));
        verifier.ChainPolicy.ExtraStore.AddRange(chain);
        verifier.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        Assert.True(verifier.Build(certificate), string.Join(", ", verifier.ChainStatus.Select(s => s.StatusInformation)));
        Assert.Equal(root.RawData, verifier.ChainElements[^1].Certificate.RawData);
        return verifier.ChainElements.Count;
    }

    /// <summary>A self-signed CA with its key.</summary>
    public static X509Certificate2 SelfSigned(string subject, int? pathLength)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = CaRequest(subject, key, pathLength);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(10));
    }

    public void Dispose()
    {
        Root.Dispose();
        foreach (var intermediate in _intermediates)
        {
            intermediate.Dispose();
        }
    }

    private static X509Certificate2 Sign(X509Certificate2 issuer, string subject, ECDsa key, int pathLength)
    {
        var request = CaRequest(subject, key, pathLength);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        // A day inside the issuer's validity: CertificateRequest.Create refuses a certificate that outlives its issuer.
        var notAfter = new DateTimeOffset(issuer.NotAfter.ToUniversalTime()).AddDays(-1);
        using var signed = request.Create(issuer, DateTimeOffset.UtcNow.AddMinutes(-4), notAfter, RandomNumberGenerator.GetBytes(16));
        return signed.CopyWithPrivateKey(key);
    }

    private static CertificateRequest CaRequest(string subject, ECDsa key, int? pathLength)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA384);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, pathLength is not null, pathLength ?? 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return request;
    }
}
