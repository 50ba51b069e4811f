using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.Extensions.Options;
using PkiService.AspNetCore.Trust;

namespace PkiService.AspNetCore.ServerCertificates;

/// <summary>
/// The two calls the server certificate makes to PkiService: enroll with the token (<c>POST {ServiceUrl}/api/v1/enroll</c>)
/// and renew over mTLS (<c>POST {RenewalUrl}/api/v1/renew</c>, the current certificate as TLS client certificate). Each
/// call makes a fresh ECDSA P-256 key; keys never leave memory. Trust comes from the anchors start-up fetched and checked
/// against <c>PkiClient:RootFingerprint</c> (<see cref="TrustAnchorStore"/>): what PkiService issues, and the TLS
/// certificate of its mTLS listener, must chain to them.
/// </summary>
internal sealed class ServerCertificateClient(IOptions<PkiClientOptions> options, TrustAnchorStore anchors, TimeProvider time)
{
    /// <summary>PkiService's default <c>Pki:MtlsUrl</c> port.</summary>
    public const int DefaultRenewalPort = 5443;

    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private PkiClientOptions Options => options.Value;

    /// <summary>Where renewals go: <c>PkiClient:RenewalUrl</c>, else https on the service host at port 5443.</summary>
    public Uri RenewalUrl => Options.RenewalUrl
        ?? new UriBuilder(Uri.UriSchemeHttps, RequiredServiceUrl.Host, DefaultRenewalPort).Uri;

    private Uri RequiredServiceUrl => Options.ServiceUrl
        ?? throw new InvalidOperationException("PkiClient:ServiceUrl is required with PkiClient:EnrollmentToken: where PkiService is, e.g. http://pki.internal:5080.");

    /// <summary>Enrolls a new key for the names the token carries (the CSR names none, so PkiService issues all of them).</summary>
    public async Task<IssuedServerCertificate> EnrollAsync(string token, CancellationToken cancellationToken)
    {
        var trust = Anchors;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // An empty subject and no SAN: PkiService puts the token's CN and every SAN the token allows into the
        // certificate, so this API needs no list of its own names (README "Enroll a client certificate").
        var request = new CertificateRequest(new X500DistinguishedName(string.Empty), key, HashAlgorithmName.SHA256);
        using var http = new HttpClient(new SocketsHttpHandler(), disposeHandler: true) { Timeout = RequestTimeout };
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(RequiredServiceUrl, "api/v1/enroll"))
        {
            Content = JsonContent.Create(new CsrBody(request.CreateSigningRequestPem(), Options.ServerCertificateValidity)),
        };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(message, cancellationToken);
        return await ReadIssuedAsync(response, key, trust, "enrollment with PkiClient:EnrollmentToken", cancellationToken);
    }

    /// <summary>Renews <paramref name="current"/> for the same names with a new key, authenticated by it over mTLS.</summary>
    public async Task<IssuedServerCertificate> RenewAsync(IssuedServerCertificate current, CancellationToken cancellationToken)
    {
        var trust = Anchors;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // A renewal keeps the identity: exactly the current subject and subjectAltName (PkiService compares them).
        var request = new CertificateRequest(current.Certificate.SubjectName, key, HashAlgorithmName.SHA256);
        if (current.Certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault() is { } names)
        {
            request.CertificateExtensions.Add(new X509Extension(names.Oid!, names.RawData, critical: false));
        }
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                // The context is offered as is: .NET's own client-certificate filter would skip a certificate whose
                // EKU is serverAuth only, which PkiService accepts for renewing that same certificate.
                ClientCertificateContext = current.Context,
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                    IsPkiServiceListener(trust, certificate, errors),
            },
        };
        using var http = new HttpClient(handler, disposeHandler: true) { Timeout = RequestTimeout };
        using var response = await http.PostAsJsonAsync(
            new Uri(RenewalUrl, "api/v1/renew"), new CsrBody(request.CreateSigningRequestPem(), Options.ServerCertificateValidity), cancellationToken);
        return await ReadIssuedAsync(response, key, trust, $"renewal at {RenewalUrl}", cancellationToken);
    }

    private PkiTrustAnchors Anchors => anchors.Current
        ?? throw new InvalidOperationException("The trust anchors are not loaded: the server certificate is enrolled only after start-up fetched the pinned root.");

    /// <summary>
    /// The mTLS listener's certificate must chain to the pinned root through our issuing CA and name the host
    /// we connected to; the OS trust store plays no part.
    /// </summary>
    private bool IsPkiServiceListener(PkiTrustAnchors trust, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0)
        {
            return false;
        }
        using var presented = new X509Certificate2(certificate);
        return ChainsToAnchors(trust, presented, out _);
    }

    /// <summary>
    /// RFC 5280 6.1 path validation from the pinned root only: exactly <paramref name="certificate"/> &lt;- our issuing CA
    /// &lt;- our root, valid now (revocation is not checked here: these are PkiService's own certificates).
    /// </summary>
    private bool ChainsToAnchors(PkiTrustAnchors trust, X509Certificate2 certificate, out string problem)
    {
        using var chain = new X509Chain();
        TrustAnchorLoader.Configure(chain.ChainPolicy, trust.Root, trust.Issuing, time.GetUtcNow());
        var built = chain.Build(certificate);
        var ours = chain.ChainElements.Count == 3
            && chain.ChainElements[1].Certificate.RawDataMemory.Span.SequenceEqual(trust.Issuing.RawDataMemory.Span)
            && chain.ChainElements[2].Certificate.RawDataMemory.Span.SequenceEqual(trust.Root.RawDataMemory.Span);
        problem = built && ours ? string.Empty
            : string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Append(ours ? string.Empty : "not issued by the pinned root's issuing CA").Where(p => p.Length > 0).Distinct());
        return built && ours;
    }

    private async Task<IssuedServerCertificate> ReadIssuedAsync(
        HttpResponseMessage response, ECDsa key, PkiTrustAnchors trust, string what, CancellationToken cancellationToken)
    {
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"PkiService refused the server certificate's {what}: {(int)response.StatusCode} {await ProblemTitleAsync(response, cancellationToken)}");
        }
        var issued = await response.Content.ReadFromJsonAsync<IssuedBody>(cancellationToken)
            ?? throw new InvalidOperationException($"PkiService answered the server certificate's {what} with an empty body.");
        using var publicOnly = X509Certificate2.CreateFromPem(issued.Certificate);
        // The answer may have come over plain HTTP: serve it only if it chains to the pinned root (its "chain" field
        // is not needed: the issuing CA is the one start-up checked).
        if (!ChainsToAnchors(trust, publicOnly, out var problem))
        {
            throw new InvalidOperationException($"The certificate PkiService issued in the server certificate's {what} does not chain to the pinned root: {problem}");
        }
        // CopyWithPrivateKey refuses a certificate for another key. Exported and re-imported so the key is not tied to
        // the ECDsa instance disposed by the caller.
        using var withKey = publicOnly.CopyWithPrivateKey(key);
        var certificate = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), password: null);
        return new IssuedServerCertificate(certificate, [trust.Issuing], issued.SerialNumber);
    }

    private static async Task<string> ProblemTitleAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            return problem.TryGetProperty("title", out var title) ? title.GetString() ?? string.Empty : string.Empty;
        }
        catch (JsonException)
        {
            return "(no problem+json body)";
        }
    }

    private sealed record CsrBody(string Csr, string Validity);

    private sealed record IssuedBody(string SerialNumber, string Certificate);
}
