using System.Net.Http.Headers;

namespace PkiService.AspNetCore.Service;

/// <summary>
/// HTTP to PkiService's public endpoints (root and issuing CA, CRLs, OCSP, the revocation stream). Everything fetched
/// is signed and checked against the pinned root, except the stream, which can only add revocations; so a plain
/// http:// address is acceptable.
/// </summary>
internal sealed class PkiServiceClient : IDisposable
{
    /// <summary>Bound of a fetched body (a CRL of a million entries is about 40 MB).</summary>
    public const int MaxResponseBytes = 128 * 1024 * 1024;

    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(15);

    private readonly HttpClient _http;

    public PkiServiceClient(Uri serviceUrl)
    {
        ServiceUrl = serviceUrl;
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        })
        {
            BaseAddress = serviceUrl,
            Timeout = Timeout.InfiniteTimeSpan,
            MaxResponseContentBufferSize = MaxResponseBytes,
        };
    }

    public Uri ServiceUrl { get; }

    public async Task<byte[]> GetBytesAsync(string path, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        using var response = await _http.GetAsync(path, timeout.Token);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsByteArrayAsync(timeout.Token);
    }

    /// <summary>
    /// A conditional GET (RFC 9110 13.1.2): null when the body is still the one <paramref name="etag"/> names (304),
    /// so an unchanged CRL is neither downloaded nor verified again.
    /// </summary>
    public async Task<(byte[]? Body, string? ETag)> GetIfChangedAsync(string path, string? etag, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (etag is not null && EntityTagHeaderValue.TryParse(etag, out var tag))
        {
            request.Headers.IfNoneMatch.Add(tag);
        }
        using var response = await _http.SendAsync(request, timeout.Token);
        if (response.StatusCode == System.Net.HttpStatusCode.NotModified)
        {
            return (null, etag);
        }
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadAsByteArrayAsync(timeout.Token), response.Headers.ETag?.ToString());
    }

    public async Task<byte[]> PostOcspAsync(byte[] request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        using var response = await _http.SendAsync(OcspRequest(request), timeout.Token);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsByteArrayAsync(timeout.Token);
    }

    /// <summary>The synchronous form, for the TLS handshake's validation callback (which cannot await).</summary>
    public byte[] PostOcsp(byte[] request)
    {
        using var timeout = new CancellationTokenSource(RequestTimeout);
        using var response = _http.Send(OcspRequest(request), timeout.Token);
        response.EnsureSuccessStatusCode();
        using var body = response.Content.ReadAsStream(timeout.Token);
        using var copy = new MemoryStream();
        body.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>Opens the revocation stream (headers read, body streaming); the caller disposes the response.</summary>
    public async Task<HttpResponseMessage> OpenRevocationStreamAsync(long? lastEventId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "pki/revocations/stream");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        request.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
        if (lastEventId is { } id)
        {
            request.Headers.Add("Last-Event-ID", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        try
        {
            response.EnsureSuccessStatusCode();
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private static HttpRequestMessage OcspRequest(byte[] request)
    {
        var content = new ByteArrayContent(request);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/ocsp-request");
        return new HttpRequestMessage(HttpMethod.Post, "ocsp") { Content = content };
    }

    public void Dispose() => _http.Dispose();
}
