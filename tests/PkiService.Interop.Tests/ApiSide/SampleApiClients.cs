using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.ApiSide;

/// <summary>What curl got from the sample API: its exit code, the HTTP status (0 when there was none) and the body.</summary>
public sealed record CurlAnswer(int ExitCode, int Status, string Body, int Connects, string Detail)
{
    /// <summary>Refused: the TLS handshake failed (no HTTP answer) or the request got 401/403, and no claims came back.</summary>
    public bool IsRefused => Status is 0 or 401 or 403 && !Body.Contains("spiffe://", StringComparison.Ordinal);

    public override string ToString() => $"exit {ExitCode}, HTTP {Status}, connects {Connects}, body '{Body}'\n{Detail}";
}

/// <summary>
/// Clients of the sample API: certificates made with openssl (enrolled at PkiService, or from a foreign CA), curl calls
/// that present them, and a .NET client that keeps exactly one connection open.
/// </summary>
public sealed class SampleApiClients(ServiceProcess service, Openssl openssl, string curl)
{
    public string WorkingDirectory => openssl.WorkingDirectory;

    /// <summary>
    /// Makes <c>&lt;file&gt;.key</c> and enrolls a client certificate for <paramref name="commonName"/> and
    /// <paramref name="spiffeId"/> with <paramref name="validity"/>, written as <c>&lt;file&gt;.pem</c>.
    /// </summary>
    public async Task<EnrollmentResult> EnrollAsync(string file, string commonName, string spiffeId, string validity = "P1D")
    {
        await openssl.GenerateKeyAsync(KeyType.EcP256, $"{file}.key");
        var csr = await openssl.CreateCsrAsync($"{file}.key", commonName, $"URI:{spiffeId}", $"{file}.csr");
        var token = await service.Api.CreateEnrollmentTokenAsync(commonName, [spiffeId]);
        var issued = await service.Api.EnrollAsync(token, csr, validity);
        await File.WriteAllTextAsync(Path.Combine(WorkingDirectory, $"{file}.pem"), issued.Certificate);
        return issued;
    }

    /// <summary>
    /// A certificate with the same subject and SAN as a real client, signed by a CA openssl makes here (not PkiService's):
    /// <c>&lt;file&gt;.pem</c>/<c>.key</c>.
    /// </summary>
    public async Task IssueFromForeignCaAsync(string file, string commonName, string spiffeId)
    {
        (await openssl.RunAsync("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", $"{file}-ca.key", "-subj", "/O=PkiService/CN=PkiService Issuing CA", "-days", "2",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", $"{file}-ca.pem")).EnsureSuccess();
        await openssl.GenerateKeyAsync(KeyType.EcP256, $"{file}.key");
        await openssl.CreateCsrAsync($"{file}.key", commonName, $"URI:{spiffeId}", $"{file}.csr");
        await File.WriteAllTextAsync(Path.Combine(WorkingDirectory, $"{file}.ext"),
            $"subjectAltName=URI:{spiffeId}\nextendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n");
        (await openssl.RunAsync("x509", "-req", "-in", $"{file}.csr", "-CA", $"{file}-ca.pem", "-CAkey", $"{file}-ca.key",
            "-CAcreateserial", "-days", "1", "-extfile", $"{file}.ext", "-out", $"{file}.pem")).EnsureSuccess();
    }

    /// <summary>GET <paramref name="url"/> with curl, trusting only PkiService's root, presenting <c>&lt;client&gt;.pem</c> when given.</summary>
    public async Task<CurlAnswer> GetAsync(Uri url, string? client)
    {
        string[] certificate = client is null ? [] : ["--cert", $"{client}.pem", "--key", $"{client}.key"];
        var result = await ExternalCommand.RunAsync(curl,
            ["-s", "-S", "--max-time", "20", "--cacert", "root.pem", .. certificate, "-w", "\n%{http_code} %{num_connects}", url.ToString()],
            WorkingDirectory);
        var output = result.StandardOutput;
        var cut = output.LastIndexOf('\n');
        var trailer = output[(cut + 1)..].Split(' ');
        return new CurlAnswer(result.ExitCode, int.Parse(trailer[0]), output[..Math.Max(cut, 0)], int.Parse(trailer[1]), result.StandardError);
    }

    /// <summary>
    /// A .NET client presenting <c>&lt;client&gt;.pem</c> that holds at most one connection to the sample, counting
    /// the connections it opens (<paramref name="connections"/>), trusting only PkiService's root.
    /// </summary>
    public HttpClient OneConnectionClient(string client, StrongBox<int> connections)
    {
        var root = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(WorkingDirectory, "root.pem"));
        var certificate = X509Certificate2.CreateFromPemFile(
            Path.Combine(WorkingDirectory, $"{client}.pem"), Path.Combine(WorkingDirectory, $"{client}.key"));
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectCallback = async (context, cancellationToken) =>
            {
                Interlocked.Increment(ref connections.Value);
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificateContext = SslStreamCertificateContext.Create(certificate, null, offline: true),
                // Our root only, nothing fetched (the API sends its certificate and our issuing CA).
                CertificateChainPolicy = new X509ChainPolicy
                {
                    TrustMode = X509ChainTrustMode.CustomRootTrust,
                    CustomTrustStore = { root },
                    RevocationMode = X509RevocationMode.NoCheck,
                    DisableCertificateDownloads = true,
                },
                RemoteCertificateValidationCallback = (_, server, _, errors) => server is not null && errors == SslPolicyErrors.None,
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(20), DefaultRequestVersion = HttpVersion.Version11 };
    }
}
