using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Org.BouncyCastle.X509;
using X509Certificate = Org.BouncyCastle.X509.X509Certificate;
using PkiService.Core.Authorities;
using PkiService.Core.Primitives;

namespace PkiService.Core.Issuance;

/// <summary>
/// The certificate and ECDSA P-256 key of a TLS listener the service runs itself (the mTLS renewal listener).
/// Unlike the OCSP responder certificates it is an ordinary end-entity certificate: the key makes a CSR that goes
/// through the issuing CA with the <c>server</c> profile, so it is recorded and revocable like any other.
/// </summary>
public sealed partial class TlsServerCertificate : IDisposable
{
    private readonly ECDsa _privateKey;

    private TlsServerCertificate(X509Certificate certificate, ECDsa privateKey)
    {
        Certificate = certificate;
        _privateKey = privateKey;
        Der = certificate.GetEncoded();
        NotBefore = new DateTimeOffset(certificate.NotBefore, TimeSpan.Zero);
        NotAfter = new DateTimeOffset(certificate.NotAfter, TimeSpan.Zero);
        SubjectAltNames = SubjectAltName.FromCertificate(certificate);
        SerialNumber = Primitives.SerialNumber.FromBouncyCastle(certificate.SerialNumber);
    }

    /// <summary>The server certificate.</summary>
    public X509Certificate Certificate { get; }

    /// <summary>DER of <see cref="Certificate"/>.</summary>
    public byte[] Der { get; }

    /// <summary>The certificate's serial number.</summary>
    public SerialNumber SerialNumber { get; }

    /// <summary>Start of validity.</summary>
    public DateTimeOffset NotBefore { get; }

    /// <summary>End of validity.</summary>
    public DateTimeOffset NotAfter { get; }

    /// <summary>The SANs the certificate carries.</summary>
    public IReadOnlyList<SubjectAltName> SubjectAltNames { get; }

    /// <summary>
    /// A PKCS#10 request for <paramref name="commonName"/> and <paramref name="subjectAltNames"/>, signed with
    /// <paramref name="key"/>, in the parsed form the issuing CA takes.
    /// </summary>
    public static CertificationRequest CreateRequest(ECDsa key, string commonName, IReadOnlyList<SubjectAltName> subjectAltNames)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrWhiteSpace(commonName);
        ArgumentNullException.ThrowIfNull(subjectAltNames);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(commonName);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        if (subjectAltNames.Count > 0)
        {
            var sans = new SubjectAlternativeNameBuilder();
            foreach (var name in subjectAltNames)
            {
                switch (name.Kind)
                {
                    case SubjectAltNameKind.Dns: sans.AddDnsName(name.Value); break;
                    case SubjectAltNameKind.IpAddress: sans.AddIpAddress(IPAddress.Parse(name.Value)); break;
                    case SubjectAltNameKind.Email: sans.AddEmailAddress(name.Value); break;
                    case SubjectAltNameKind.Uri: sans.AddUri(new Uri(name.Value)); break;
                }
            }
            request.CertificateExtensions.Add(sans.Build());
        }
        return CertificationRequest.FromDer(request.CreateSigningRequest());
    }

    /// <summary>Pairs an issued certificate with the key whose request it answered.</summary>
    public static TlsServerCertificate FromIssued(byte[] certificateDer, ECDsa privateKey)
    {
        ArgumentNullException.ThrowIfNull(certificateDer);
        ArgumentNullException.ThrowIfNull(privateKey);
        var certificate = new X509CertificateParser().ReadCertificate(certificateDer)
            ?? throw new InvalidDataException("The TLS server certificate is empty.");
        // The issued certificate carries the SubjectPublicKeyInfo of our request byte for byte.
        if (!certificate.CertificateStructure.SubjectPublicKeyInfo.GetEncoded().AsSpan().SequenceEqual(privateKey.ExportSubjectPublicKeyInfo()))
        {
            throw new InvalidDataException("The TLS server certificate does not certify the key it is stored with.");
        }
        return new TlsServerCertificate(certificate, privateKey);
    }

    /// <summary>
    /// Loads the certificate <paramref name="keys"/> keeps as <paramref name="name"/> and returns it when
    /// <paramref name="issuer"/> signed it, it carries exactly <paramref name="subjectAltNames"/> and it does not
    /// <see cref="NeedsRenewal"/>; otherwise has <paramref name="keys"/> make a new P-256 key, makes a request, has
    /// <paramref name="issue"/> sign (and record) it, stores the pair and returns it. Call it at start-up and from a
    /// periodic job, like <see cref="Ocsp.OcspResponderCertificate.LoadOrCreate"/>.
    /// </summary>
    public static async Task<TlsServerCertificate> LoadOrCreateAsync(
        ICaKeyProvider keys,
        string name,
        CertificateAuthority issuer,
        string commonName,
        IReadOnlyList<SubjectAltName> subjectAltNames,
        Func<CertificationRequest, CancellationToken, Task<byte[]>> issue,
        TimeProvider timeProvider,
        ILogger logger,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(issue);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);

        if (keys.TryLoad(name) is { } stored)
        {
            if (stored.Key is not ECDsa storedKey)
            {
                stored.Key.Dispose();
                throw new InvalidDataException($"The {name} key is not an ECDSA key.");
            }
            TlsServerCertificate existing;
            try
            {
                existing = FromIssued(stored.CertificateDer, storedKey);
            }
            catch
            {
                storedKey.Dispose();
                throw;
            }
            if (issuer.HasSigned(existing.Certificate)
                && existing.HasSubjectAltNames(subjectAltNames)
                && !existing.NeedsRenewal(timeProvider.GetUtcNow()))
            {
                LogLoaded(logger, name, existing.SerialNumber.Hex, existing.NotAfter);
                return existing;
            }
            existing.Dispose();
        }

        var key = keys.CreateKey(name, CaKeyAlgorithm.EcdsaP256) as ECDsa
            ?? throw new InvalidOperationException("The key provider made a P-256 key that is not an ECDsa key.");
        try
        {
            var request = CreateRequest(key, commonName, subjectAltNames);
            var created = FromIssued(await issue(request, cancellationToken), key);
            keys.Save(name, created.Der, key);
            LogCreated(logger, name, created.SerialNumber.Hex, string.Join(", ", subjectAltNames), created.NotAfter);
            return created;
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>True once less than a third of the lifetime is left (the rule of <see cref="ProtectedEcdsaKey.NeedsRenewal"/>).</summary>
    public bool NeedsRenewal(DateTimeOffset now) => ProtectedEcdsaKey.NeedsRenewal(NotBefore, NotAfter, now);

    /// <summary>True when the certificate carries exactly these SANs (in any order).</summary>
    public bool HasSubjectAltNames(IReadOnlyList<SubjectAltName> subjectAltNames) =>
        SubjectAltNames.ToHashSet().SetEquals(subjectAltNames);

    /// <summary>The certificate with its private key, for <c>SslStream</c>.</summary>
    public X509Certificate2 ToX509Certificate2()
    {
        using var certificate = X509CertificateLoader.LoadCertificate(Der);
        return certificate.CopyWithPrivateKey(_privateKey);
    }

    public void Dispose() => _privateKey.Dispose();

    [LoggerMessage(EventId = 1111, EventName = "TlsServerCertificateCreated", Level = LogLevel.Warning,
        Message = "Issued TLS server certificate {CertificateName} {SerialNumber} for {SubjectAltNames}, valid until {NotAfter:O}")]
    private static partial void LogCreated(ILogger logger, string certificateName, string serialNumber, string subjectAltNames, DateTimeOffset notAfter);

    [LoggerMessage(EventId = 1112, EventName = "TlsServerCertificateLoaded", Level = LogLevel.Information,
        Message = "Loaded TLS server certificate {CertificateName} {SerialNumber}, valid until {NotAfter:O}")]
    private static partial void LogLoaded(ILogger logger, string certificateName, string serialNumber, DateTimeOffset notAfter);
}
