using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace PkiService.Api.Features.Expiry;

/// <summary>
/// POSTs <c>certificate.expiring</c> JSON to <c>Notifications:Webhook:Url</c>, signed with
/// <c>X-Pki-Signature: sha256=&lt;hex HMAC-SHA256 of the raw body&gt;</c> under <c>Notifications:Webhook:Secret</c>
/// (required, checked at start). Non-2xx (a redirect included: it is never followed, so the signed body goes nowhere
/// else) or a 10 s timeout is a failure. Logs name the URL's host only: its path or query may carry a token.
/// </summary>
public sealed partial class WebhookChannel(
    IHttpClientFactory clients, IOptions<NotificationOptions> options, TimeProvider time, ILogger<WebhookChannel> logger) : IExpiryWarningChannel
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
        var secret = webhook.Secret is { Length: > 0 } configured ? configured
            : throw new InvalidOperationException("Notifications:Webhook:Secret is not set."); // refused at start; never sign with an empty key
        request.Headers.Add(SignatureHeader, "sha256=" + Sign(body, secret));
        request.Headers.Add(DeliveryIdHeader, warning.DeliveryId);
        request.Headers.Add(TimestampHeader, time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));

        var client = clients.CreateClient(HttpClientName);
        var host = request.RequestUri!.Host;
        using var response = await client.SendAsync(request, cancellationToken);
        LogPosted(logger, warning.DeliveryId, host, (int)response.StatusCode);
        if ((int)response.StatusCode is >= 300 and < 400)
        {
            throw new HttpRequestException(
                $"webhook at host {host} answered {(int)response.StatusCode} {response.ReasonPhrase}; redirects are not followed: set Notifications:Webhook:Url to the final address",
                null, response.StatusCode);
        }
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"webhook at host {host} answered {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
        }
    }

    /// <summary>
    /// The named client the channel posts with: redirects off (a 3xx is a failed delivery; following it would re-post the
    /// signed body to wherever the receiver points) and HttpClientFactory's request logs removed (they print the full URL).
    /// </summary>
    public static IHttpClientBuilder AddHttpClient(IServiceCollection services) =>
        services.AddHttpClient(HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(10))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false })
            .RemoveAllLoggers();

    /// <summary>Lowercase hex HMAC-SHA256 of the raw body, as receivers recompute it.</summary>
    public static string Sign(byte[] body, string secret) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    [LoggerMessage(EventId = 7005, EventName = "WebhookPosted", Level = LogLevel.Information,
        Message = "Webhook delivery {DeliveryId} posted to host {Host}: HTTP {StatusCode}")]
    private static partial void LogPosted(ILogger logger, string deliveryId, string host, int statusCode);
}
