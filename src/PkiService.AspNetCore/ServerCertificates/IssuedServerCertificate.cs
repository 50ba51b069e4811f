using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace PkiService.AspNetCore.ServerCertificates;

/// <summary>
/// One server certificate PkiService issued to this API, with its private key (in memory only) and the issuing CA
/// certificate, as Kestrel sends them (<see cref="Context"/>: the client needs the intermediate to reach the root).
/// </summary>
internal sealed class IssuedServerCertificate
{
    public IssuedServerCertificate(X509Certificate2 certificate, IReadOnlyList<X509Certificate2> intermediates, string serialNumber)
    {
        Certificate = certificate;
        Intermediates = intermediates;
        SerialNumber = serialNumber;
        Context = SslStreamCertificateContext.Create(certificate, [.. intermediates], offline: true);
    }

    /// <summary>The certificate with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The CA certificates between it and the root (the issuing CA).</summary>
    public IReadOnlyList<X509Certificate2> Intermediates { get; }

    /// <summary>Upper-case hex, as PkiService prints it.</summary>
    public string SerialNumber { get; }

    public SslStreamCertificateContext Context { get; }

    public DateTimeOffset NotBefore => new(Certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero);

    public DateTimeOffset NotAfter => new(Certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);

    /// <summary>When two thirds of its life have passed, a third is left for renewal attempts (as PkiService renews its own listener's certificate).</summary>
    public DateTimeOffset RenewAt => NotBefore + (NotAfter - NotBefore) * 2 / 3;

    /// <summary>The subjectAltName values, as .NET prints them, for the log.</summary>
    public string DescribeNames() =>
        Certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault() is { } san
            ? string.Join(", ", san.EnumerateDnsNames().Concat(san.EnumerateIPAddresses().Select(ip => ip.ToString())))
            : string.Empty;
}
