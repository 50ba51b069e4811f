using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace PkiService.Interop.Tests.Infrastructure;

/// <summary>The calls the interop tests make to the service's HTTP API.</summary>
public sealed class PkiApiClient(HttpClient http, string adminApiKey) : IDisposable
{
    public HttpClient Http => http;

    /// <summary>Creates a one-time enrollment token with the admin key and returns its secret.</summary>
    public async Task<string> CreateEnrollmentTokenAsync(string commonName, IReadOnlyList<string> sans, string profile = "client")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/enrollment-tokens")
        {
            Content = JsonContent.Create(new { commonName, sans, profile, ttl = "PT10M" }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminApiKey);
        using var response = await http.SendAsync(request);
        await EnsureStatusAsync(response, HttpStatusCode.Created);
        var created = await response.Content.ReadFromJsonAsync<TokenResponse>();
        return created?.Token ?? throw new InvalidOperationException("The token response has no 'token'.");
    }

    /// <summary>Enrolls a PEM CSR with an enrollment token.</summary>
    public async Task<EnrollmentResult> EnrollAsync(string token, string csrPem, string? validity = "P30D")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/enroll")
        {
            Content = JsonContent.Create(new { csr = csrPem, validity }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        await EnsureStatusAsync(response, HttpStatusCode.Created);
        return await response.Content.ReadFromJsonAsync<EnrollmentResult>()
            ?? throw new InvalidOperationException("The enroll response is empty.");
    }

    /// <summary>Revokes a certificate with the admin key (POST /api/v1/certificates/{serial}/revoke); expects 200.</summary>
    public async Task<RevokedCertificateResult> RevokeAsync(string serialNumber, string reason = "keyCompromise", DateTimeOffset? invalidityDate = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"api/v1/certificates/{serialNumber}/revoke")
        {
            Content = JsonContent.Create(new { reason, invalidityDate }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminApiKey);
        using var response = await http.SendAsync(request);
        await EnsureStatusAsync(response, HttpStatusCode.OK);
        return await response.Content.ReadFromJsonAsync<RevokedCertificateResult>()
            ?? throw new InvalidOperationException("The revoke response is empty.");
    }

    /// <summary>GETs a public binary file such as <c>pki/crl</c> (DER).</summary>
    public async Task<byte[]> GetBytesAsync(string path)
    {
        using var response = await http.GetAsync(path);
        await EnsureStatusAsync(response, HttpStatusCode.OK);
        return await response.Content.ReadAsByteArrayAsync();
    }

    /// <summary>The status of a certificate as the admin API shows it: active, revoked, expired or superseded.</summary>
    public async Task<string> GetStatusAsync(string serialNumber)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/v1/certificates/{serialNumber}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminApiKey);
        using var response = await http.SendAsync(request);
        await EnsureStatusAsync(response, HttpStatusCode.OK);
        var record = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        return record.GetProperty("status").GetString()!;
    }

    /// <summary>GETs an admin API resource (such as <c>api/v1/audit/verify</c>) with the admin key; expects 200.</summary>
    public async Task<System.Text.Json.JsonElement> GetAdminJsonAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminApiKey);
        using var response = await http.SendAsync(request);
        await EnsureStatusAsync(response, HttpStatusCode.OK);
        return await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
    }

    /// <summary>GETs a public CA file such as <c>pki/root.pem</c>.</summary>
    public async Task<string> GetTextAsync(string path)
    {
        using var response = await http.GetAsync(path);
        await EnsureStatusAsync(response, HttpStatusCode.OK);
        return await response.Content.ReadAsStringAsync();
    }

    public void Dispose() => http.Dispose();

    private static async Task EnsureStatusAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        if (response.StatusCode != expected)
        {
            var body = await response.Content.ReadAsStringAsync();
            throw new InvalidOperationException(
                $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} returned {(int)response.StatusCode}, expected {(int)expected}: {body}");
        }
    }

    private sealed record TokenResponse(string Id, string Token, DateTimeOffset ExpiresAt);
}

/// <summary>The body of a 201 from POST /api/v1/enroll.</summary>
public sealed record EnrollmentResult(string SerialNumber, string Certificate, string Chain, DateTimeOffset NotBefore, DateTimeOffset NotAfter);

/// <summary>The parts of the 200 body of POST /api/v1/certificates/{serial}/revoke the tests check.</summary>
public sealed record RevokedCertificateResult(string SerialNumber, string Status, DateTimeOffset? RevokedAt, string? RevocationReason);
