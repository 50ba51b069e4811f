using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace PkiService.Api.Features.Expiry;

/// <summary>
/// POSTs <c>certificate.expiring</c> JSON to <c>Notifications:Webhook:Url</c>, signed with
/// <c>X-Pki-Signature: sha256=&lt;hex HMAC-SHA256 of the raw body&gt;</c>. Non-2xx or a 10 s timeout is a failure.
/// </summary>
public sealed class WebhookChannel(IHttpClientFactory clients, IOptions<NotificationOptions> options, TimeProvider time) : IExpiryWarningChannel
{
    public const string HttpClientName = "expiry-webhook";
    public const string SignatureHeader = "X-Pki-Signature";
    public const string DeliveryIdHeader = "X-Pki-Delivery-Id";
    public const string TimestampHeader = "X-Pki-Timestamp";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Name => "webhook";

    public bool IsConfigured => !string.IsNullOrWhiteSpace(options.Value.Webhook.Url);

    public bool RequiresContactEmail => false;

    public async Task SendAsync(ExpiryWarning warning, CancellationToken cancellationToken)
    {
        var webhook = options.Value.Webhook;
        var body = JsonSerializer.SerializeToUtf8Bytes(new
        {
            @event = "certificate.expiring",
            deliveryId = warning.DeliveryId,
            serialNumber = warning.SerialNumber,
            subject = warning.Subject,
            sans = warning.Sans,
            profile = warning.Profile,
            notAfter = warning.NotAfter,
            threshold = warning.Threshold,
            contactEmail = warning.ContactEmail,
        }, Json);

        using var request = new HttpRequestMessage(HttpMethod.Post, webhook.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(SignatureHeader, "sha256=" + Sign(body, webhook.Secret ?? string.Empty));
        request.Headers.Add(DeliveryIdHeader, warning.DeliveryId);
        request.Headers.Add(TimestampHeader, time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));

        var client = clients.CreateClient(HttpClientName);
        using var response = await client.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"webhook answered {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
        }
    }

    /// <summary>Lowercase hex HMAC-SHA256 of the raw body, as receivers recompute it.</summary>
    public static string Sign(byte[] body, string secret) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));
}
