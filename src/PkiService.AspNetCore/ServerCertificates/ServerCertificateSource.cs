using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace PkiService.AspNetCore.ServerCertificates;

/// <summary>
/// The server certificate Kestrel serves now. Handshakes read <see cref="Current"/>, renewal replaces it, so a renewed
/// certificate is used from the next handshake on without a restart; connections already open keep the one they
/// negotiated (their TLS session does not depend on the certificate after the handshake).
/// </summary>
internal sealed class ServerCertificateSource
{
    private volatile IssuedServerCertificate? _current;

    /// <summary>The certificate in use; null until the enrollment at start has succeeded.</summary>
    public IssuedServerCertificate? Current => _current;

    /// <summary>
    /// Replaces the certificate. The one replaced is not disposed: a handshake that started with it may still be using
    /// its key (the garbage collector frees it).
    /// </summary>
    public void Use(IssuedServerCertificate certificate) => _current = certificate;

    /// <summary>For Kestrel's selector: the certificate (with key) or null, which fails the handshake.</summary>
    public X509Certificate2? SelectCertificate() => _current?.Certificate;

    /// <summary>For the TLS options of one handshake: the certificate and its intermediates.</summary>
    public SslStreamCertificateContext? SelectContext() => _current?.Context;
}
