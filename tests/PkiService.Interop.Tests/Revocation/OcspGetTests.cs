using System.Text.RegularExpressions;
using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Revocation;

/// <summary>
/// The RFC 6960 A.1 / RFC 5019 GET form: <c>GET /ocsp/{URL-encoded base64 of the DER request}</c>, fetched with curl,
/// answers like POST and is cacheable by HTTP caches (RFC 5019 6: Cache-Control max-age, ETag, Last-Modified).
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed partial class OcspGetTests(ServiceProcess service) : IDisposable
{
    private readonly TempDirectory _work = new();

    public void Dispose() => _work.Dispose();

    [SkippableFact]
    public async Task OcspGet_SameAnswerAsPost_WithCacheHeadersAndConditional304()
    {
        var (openssl, curl) = (new Openssl(RequiredTool.Openssl(), _work.Path), RequiredTool.Curl());
        await ServiceCertificates.WriteCaFilesAsync(service.Api, _work.Path);
        await ServiceCertificates.IssueClientAsync(service.Api, openssl, "ocsp-get");
        var url = await GetUrlAsync(openssl, "ocsp-get.pem");

        var get = await CurlAsync(curl, "--dump-header", "get-headers.txt", "--output", "get.der", url);
        var post = await CurlAsync(curl,
            "--header", "Content-Type: application/ocsp-request", "--data-binary", "@request.der", "--output", "post.der", $"{service.PublicBaseUrl}/ocsp");

        Assert.Equal("200", get.StandardOutput.Trim());
        Assert.Equal("200", post.StandardOutput.Trim());
        var getAnswer = await ReadResponseAsync(openssl, "get.der", "ocsp-get.pem");
        var postAnswer = await ReadResponseAsync(openssl, "post.der", "ocsp-get.pem");
        Assert.Contains("ocsp-get.pem: good", getAnswer);
        Assert.Equal(StatusLine(postAnswer), StatusLine(getAnswer));

        var headers = ParseHeaders(await File.ReadAllTextAsync(_work.File("get-headers.txt")));
        Assert.Equal("application/ocsp-response", headers.GetValueOrDefault("content-type"));
        var maxAge = MaxAge().Match(headers.GetValueOrDefault("cache-control") ?? "");
        Assert.True(maxAge.Success && int.Parse(maxAge.Groups[1].Value) > 0, $"Cache-Control should carry a positive max-age: {string.Join(", ", headers)}");
        Assert.True(headers.TryGetValue("etag", out var etag) && etag.Length > 2, $"no ETag: {string.Join(", ", headers)}");
        Assert.True(headers.TryGetValue("last-modified", out var lastModified) && DateTimeOffset.TryParse(lastModified, out _),
            $"no valid Last-Modified: {string.Join(", ", headers)}");

        var conditional = await CurlAsync(curl, "--header", $"If-None-Match: {etag}", "--output", "conditional.der", url);
        Assert.Equal("304", conditional.StandardOutput.Trim());
    }

    [SkippableFact]
    public async Task OcspGet_AfterRevoke_SameUrlAnswersRevokedWithNewEtag()
    {
        var (openssl, curl) = (new Openssl(RequiredTool.Openssl(), _work.Path), RequiredTool.Curl());
        await ServiceCertificates.WriteCaFilesAsync(service.Api, _work.Path);
        var issued = await ServiceCertificates.IssueClientAsync(service.Api, openssl, "ocsp-get-revoked");
        var url = await GetUrlAsync(openssl, "ocsp-get-revoked.pem");
        await CurlAsync(curl, "--dump-header", "before-headers.txt", "--output", "before.der", url);
        Assert.Contains("ocsp-get-revoked.pem: good", await ReadResponseAsync(openssl, "before.der", "ocsp-get-revoked.pem"));
        var etagBefore = ParseHeaders(await File.ReadAllTextAsync(_work.File("before-headers.txt")))["etag"];

        await service.Api.RevokeAsync(issued.SerialNumber, "superseded");
        // A cache revalidating with the old ETag must get the new answer, not a 304.
        var after = await CurlAsync(curl, "--header", $"If-None-Match: {etagBefore}", "--dump-header", "after-headers.txt", "--output", "after.der", url);

        Assert.Equal("200", after.StandardOutput.Trim());
        var answer = await ReadResponseAsync(openssl, "after.der", "ocsp-get-revoked.pem");
        Assert.Contains("ocsp-get-revoked.pem: revoked", answer);
        Assert.Contains("Reason: superseded", answer);
        Assert.NotEqual(etagBefore, ParseHeaders(await File.ReadAllTextAsync(_work.File("after-headers.txt")))["etag"]);
    }

    /// <summary>Writes the nonce-free DER request <c>request.der</c> for the certificate and returns its GET URL.</summary>
    private async Task<string> GetUrlAsync(Openssl openssl, string certificateFile)
    {
        (await openssl.RunAsync("ocsp", "-issuer", "ca.pem", "-cert", certificateFile, "-no_nonce", "-reqout", "request.der")).EnsureSuccess();
        var request = await File.ReadAllBytesAsync(_work.File("request.der"));
        return $"{service.PublicBaseUrl}/ocsp/{Uri.EscapeDataString(Convert.ToBase64String(request))}";
    }

    private Task<CommandResult> CurlAsync(string curl, params string[] arguments) =>
        ExternalCommand.RunAsync(curl, ["--silent", "--show-error", "--max-time", "20", "--write-out", "%{http_code}", .. arguments], _work.Path);

    /// <summary>Parses and verifies a saved response with openssl; returns what it printed.</summary>
    private static async Task<string> ReadResponseAsync(Openssl openssl, string responseFile, string certificateFile)
    {
        var result = await openssl.RunAsync(
            "ocsp", "-respin", responseFile, "-CAfile", "chain.pem", "-issuer", "ca.pem", "-cert", certificateFile, "-no_nonce");
        Assert.True(result.ExitCode == 0 && result.StandardError.Contains("Response verify OK"), result.ToString());
        return result.StandardOutput;
    }

    private static string StatusLine(string opensslOutput) => opensslOutput.Split('\n')[0].Trim();

    private static Dictionary<string, string> ParseHeaders(string dump) =>
        dump.Split('\n')
            .Select(line => line.TrimEnd('\r'))
            .Where(line => line.Contains(':') && !line.StartsWith("HTTP/", StringComparison.Ordinal))
            .Select(line => (Name: line[..line.IndexOf(':')].Trim().ToLowerInvariant(), Value: line[(line.IndexOf(':') + 1)..].Trim()))
            .GroupBy(header => header.Name)
            .ToDictionary(group => group.Key, group => group.Last().Value);

    [GeneratedRegex(@"max-age=(\d+)")]
    private static partial Regex MaxAge();
}
