using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace PkiService.Cli.Infrastructure;

/// <summary>
/// HTTP to the service. HTTPS server certificates are accepted only when they chain to the one saved root (never the
/// system store); every failure becomes a <see cref="CliException"/>: an HTTP error answer exit 1 with its
/// problem+json title, anything that keeps the answer from arriving or being trusted exit 3.
/// </summary>
public static class PkiHttp
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>A client that trusts only <paramref name="root"/> (null: plain HTTP or the system store, bootstrap only).</summary>
    /// <param name="acceptAnyServerCertificate">Bootstrap only: the root it fetches is checked against its fingerprint instead.</param>
    public static HttpClient Create(
        Uri baseAddress, X509Certificate2? root, SslStreamCertificateContext? clientCertificate = null, bool acceptAnyServerCertificate = false)
    {
        var ssl = new SslClientAuthenticationOptions();
        if (root is not null)
        {
            ssl.CertificateChainPolicy = TrustOnly(root, []);
        }
        if (acceptAnyServerCertificate)
        {
            ssl.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }
        if (clientCertificate is not null)
        {
            ssl.ClientCertificateContext = clientCertificate;
        }
        var handler = new SocketsHttpHandler { SslOptions = ssl, ConnectTimeout = TimeSpan.FromSeconds(10), AllowAutoRedirect = false };
        return new HttpClient(handler) { BaseAddress = baseAddress, Timeout = Timeout };
    }

    /// <summary>A chain policy with <paramref name="root"/> as the only anchor and no revocation fetches.</summary>
    public static X509ChainPolicy TrustOnly(X509Certificate2 root, IEnumerable<X509Certificate2> intermediates)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.Add(root);
        policy.ExtraStore.AddRange(intermediates.ToArray());
        return policy;
    }

    /// <summary>Sends and returns the answer if it is a success; throws the matching <see cref="CliException"/> otherwise.</summary>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw CliException.Trust($"Cannot reach {http.BaseAddress}: {Describe(e)}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw CliException.Trust($"No answer from {http.BaseAddress} within {Timeout.TotalSeconds:0} s.");
        }
        if (!response.IsSuccessStatusCode)
        {
            using (response)
            {
                throw new CliException(ExitCodes.Refused, await ProblemLineAsync(response, cancellationToken)) { Status = response.StatusCode };
            }
        }
        return response;
    }

    public static Task<HttpResponseMessage> GetAsync(HttpClient http, string path, CancellationToken cancellationToken, string? bearer = null) =>
        SendAsync(http, WithBearer(new HttpRequestMessage(HttpMethod.Get, path), bearer), cancellationToken);

    public static Task<HttpResponseMessage> PostJsonAsync<T>(HttpClient http, string path, T body, CancellationToken cancellationToken, string? bearer = null) =>
        SendAsync(http, WithBearer(new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) }, bearer), cancellationToken);

    /// <summary>Reads a JSON answer; an answer that is not what the service sends is a trust failure (exit 3).</summary>
    public static async Task<T> ReadJsonAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        using (response)
        {
            try
            {
                return await response.Content.ReadFromJsonAsync<T>(Json.Options, cancellationToken)
                    ?? throw CliException.Trust($"{response.RequestMessage?.RequestUri} answered an empty body.");
            }
            catch (JsonException e)
            {
                throw CliException.Trust($"{response.RequestMessage?.RequestUri} answered something that is not the expected JSON ({e.Message}).");
            }
        }
    }

    private static HttpRequestMessage WithBearer(HttpRequestMessage request, string? bearer)
    {
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
        return request;
    }

    /// <summary>
    /// One line for stderr: "HTTP 401: title", with the first field error of a validation problem. The request (and so
    /// the token or API key it carried) is never part of it.
    /// </summary>
    private static async Task<string> ProblemLineAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        string? title = null;
        try
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            using var problem = JsonDocument.Parse(body);
            if (problem.RootElement.ValueKind == JsonValueKind.Object)
            {
                title = problem.RootElement.TryGetProperty("title", out var t) ? t.GetString() : null;
                if (problem.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object)
                {
                    foreach (var field in errors.EnumerateObject())
                    {
                        var first = field.Value.ValueKind == JsonValueKind.Array && field.Value.GetArrayLength() > 0 ? field.Value[0].GetString() : null;
                        title = $"{title}: {field.Name}: {first}";
                        break;
                    }
                }
            }
        }
        catch (JsonException)
        {
            // not problem+json (a proxy's HTML page): the status line says enough
        }
        title ??= response.ReasonPhrase ?? response.StatusCode.ToString();
        return $"HTTP {status}: {OneLine(title)}";
    }

    private static string Describe(HttpRequestException exception)
    {
        for (Exception? inner = exception; inner is not null; inner = inner.InnerException)
        {
            if (inner is AuthenticationException)
            {
                return "the server's TLS certificate does not chain to the saved root (or the TLS handshake failed): " + OneLine(inner.Message);
            }
        }
        return OneLine(exception.InnerException?.Message ?? exception.Message);
    }

    public static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();

    /// <summary>Error answers that will not change by retrying the same request.</summary>
    public static bool IsPermanent(HttpStatusCode status) =>
        (int)status is >= 400 and < 500 && status is not HttpStatusCode.RequestTimeout and not HttpStatusCode.TooManyRequests;
}

/// <summary>The JSON options of the API: camelCase, as ASP.NET Core's web defaults.</summary>
public static class Json
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    /// <summary>For stdout: indented, and '+' in offsets left as is (the output is not embedded in HTML).</summary>
    public static readonly JsonSerializerOptions Indented = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
