using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Est;

/// <summary>What curl got back from an EST path: status, headers (of the last response) and the body bytes.</summary>
public sealed record EstCurlAnswer(int Status, string ContentType, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string Text => Encoding.UTF8.GetString(Body);

    public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var value) ? value : null;

    public override string ToString() =>
        $"{Status} {ContentType}\n{string.Join("\n", Headers.Select(h => $"{h.Key}: {h.Value}"))}\n\n{(Body.Length > 2000 ? Text[..2000] + "…" : Text)}";
}

/// <summary>How a test writes the CSR into an EST request body (RFC 7030 4.2.1, with RFC 8951's leniency).</summary>
public enum CurlCsrBody
{
    /// <summary>base64 of the DER, one line, no line break at all.</summary>
    Base64OneLine,

    /// <summary>base64 of the DER in 64-character lines ending in LF (what <c>openssl base64</c> writes).</summary>
    Base64Lf,

    /// <summary>base64 of the DER in 64-character lines ending in CRLF (MIME style).</summary>
    Base64Crlf,

    /// <summary>the PEM file openssl writes (<c>-----BEGIN CERTIFICATE REQUEST-----</c>).</summary>
    Pem,

    /// <summary>PEM with the old Netscape/Microsoft armour <c>-----BEGIN NEW CERTIFICATE REQUEST-----</c>.</summary>
    PemNewCertificateRequest,
}

/// <summary>
/// curl against the EST paths of the real service (<see cref="ServiceProcess.MtlsAddress"/>), trusting only the root
/// (the listener sends the issuing CA with its own certificate), writing bodies and answers as files in a work folder.
/// </summary>
public sealed class EstCurl(string curl, string workingDirectory, Uri mtlsAddress)
{
    /// <summary>The base of the EST paths on the mTLS listener, with a trailing slash: <c>https://127.0.0.1:port/.well-known/est/</c>.</summary>
    public Uri EstBase => new(mtlsAddress, ".well-known/est/");

    /// <summary>An EST operation under an optional label: <c>simpleenroll</c>, <c>server/simpleenroll</c>.</summary>
    public Uri Url(string operation, string? label = null) => new(EstBase, label is null ? operation : $"{label}/{operation}");

    public Task<EstCurlAnswer> GetAsync(Uri url, params string[] extra) => RunAsync(url, ["--get", .. extra]);

    /// <summary>POSTs the file <paramref name="bodyFile"/> byte for byte (<c>--data-binary</c>: curl keeps CR and LF).</summary>
    public Task<EstCurlAnswer> PostAsync(Uri url, string bodyFile, params string[] extra) =>
        RunAsync(url, ["-H", "Content-Type: application/pkcs10", "--data-binary", $"@{bodyFile}", .. extra]);

    /// <summary><c>--user &lt;anything&gt;:&lt;token&gt;</c>: EST's HTTP Basic, where the password is the enrollment token.</summary>
    public static string[] Basic(string token, string user = "anything") => ["--user", $"{user}:{token}"];

    public static string[] Bearer(string token) => ["-H", $"Authorization: Bearer {token}"];

    public static string[] ClientCertificate(string certificate, string key) => ["--cert", certificate, "--key", key];

    private async Task<EstCurlAnswer> RunAsync(Uri url, string[] arguments)
    {
        var body = Path.Combine(workingDirectory, "est-answer.bin");
        var headers = Path.Combine(workingDirectory, "est-headers.txt");
        File.Delete(body);
        File.Delete(headers);
        var result = await ExternalCommand.RunAsync(curl,
        [
            "--silent", "--show-error", "--max-time", "30", "--cacert", "root.pem",
            .. arguments,
            "--output", body, "--dump-header", headers, "--write-out", "%{http_code}\n%{content_type}",
            url.ToString(),
        ], workingDirectory);
        Assert.True(result.ExitCode == 0, $"curl failed:\n{result}");
        var lines = result.StandardOutput.Split('\n');
        return new EstCurlAnswer(
            int.Parse(lines[0].Trim()),
            lines.Length > 1 ? lines[1].Trim() : "",
            File.Exists(headers) ? LastHeaders(await File.ReadAllLinesAsync(headers)) : new Dictionary<string, string>(),
            File.Exists(body) ? await File.ReadAllBytesAsync(body) : []);
    }

    /// <summary>The header lines of the last response in a <c>--dump-header</c> file, names in lower case.</summary>
    private static Dictionary<string, string> LastHeaders(string[] lines)
    {
        var headers = new Dictionary<string, string>();
        foreach (var raw in lines)
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith("HTTP/", StringComparison.Ordinal))
            {
                headers.Clear();
                continue;
            }
            var colon = line.IndexOf(':');
            if (colon > 0)
            {
                headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
            }
        }
        return headers;
    }

    /// <summary>Writes <paramref name="der"/> (a DER CSR) as an EST body in the given form; returns the file name.</summary>
    public static async Task<string> WriteCsrBodyAsync(string workingDirectory, string fileName, byte[] der, CurlCsrBody form)
    {
        var base64 = Convert.ToBase64String(der);
        string Lines(string newline) => string.Concat(base64.Chunk(64).Select(chunk => new string(chunk) + newline));
        string Pem(string label) => $"-----BEGIN {label}-----\n{Lines("\n")}-----END {label}-----\n";
        var text = form switch
        {
            CurlCsrBody.Base64OneLine => base64,
            CurlCsrBody.Base64Lf => Lines("\n"),
            CurlCsrBody.Base64Crlf => Lines("\r\n"),
            CurlCsrBody.Pem => Pem("CERTIFICATE REQUEST"),
            CurlCsrBody.PemNewCertificateRequest => Pem("NEW CERTIFICATE REQUEST"),
            _ => throw new ArgumentOutOfRangeException(nameof(form), form, null),
        };
        await File.WriteAllTextAsync(Path.Combine(workingDirectory, fileName), text);
        return fileName;
    }
}

/// <summary>
/// The admin API calls the EST tests need beyond <see cref="PkiApiClient"/>: a token with its id and a chosen lifetime,
/// its status, its revocation, the number of certificates stored and the newest audit rows.
/// </summary>
public sealed class EstCurlAdmin(ServiceProcess service)
{
    public sealed record Token(string Id, string Secret);

    public async Task<Token> CreateTokenAsync(string commonName, IReadOnlyList<string> sans, string profile = "client", string ttl = "PT10M")
    {
        using var request = Request(HttpMethod.Post, "api/v1/enrollment-tokens");
        request.Content = JsonContent.Create(new { commonName, sans, profile, ttl });
        var created = await SendAsync(request, 201);
        return new Token(created.GetProperty("id").GetString()!, created.GetProperty("token").GetString()!);
    }

    /// <summary>The token's status as the admin API shows it: unused, used, expired or revoked.</summary>
    public async Task<string> TokenStatusAsync(Token token)
    {
        using var request = Request(HttpMethod.Get, $"api/v1/enrollment-tokens/{token.Id}");
        return (await SendAsync(request, 200)).GetProperty("status").GetString()!;
    }

    public async Task RevokeTokenAsync(Token token)
    {
        using var request = Request(HttpMethod.Delete, $"api/v1/enrollment-tokens/{token.Id}");
        using var response = await service.Api.Http.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"DELETE token: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>How many certificates the service has stored (every status).</summary>
    public async Task<int> CertificateCountAsync()
    {
        using var request = Request(HttpMethod.Get, "api/v1/certificates?pageSize=1");
        return (await SendAsync(request, 200)).GetProperty("total").GetInt32();
    }

    /// <summary>The newest audit row with this action (certificate.issue, certificate.renew).</summary>
    public async Task<JsonElement> NewestAuditAsync(string action)
    {
        using var request = Request(HttpMethod.Get, $"api/v1/audit?action={Uri.EscapeDataString(action)}&pageSize=1");
        return (await SendAsync(request, 200)).GetProperty("items")[0];
    }

    private static HttpRequestMessage Request(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ServiceProcess.AdminApiKey);
        return request;
    }

    private async Task<JsonElement> SendAsync(HttpRequestMessage request, int expected)
    {
        using var response = await service.Api.Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == expected, $"{request.Method} {request.RequestUri}: {(int)response.StatusCode}, expected {expected}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }
}
