using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace PkiService.Api.Features.Expiry;

/// <summary>Sends a plain-text warning with MailKit to the certificate's contact e-mail (from its enrollment token).</summary>
public sealed class EmailChannel(IOptions<NotificationOptions> options, IOptions<Infrastructure.PkiOptions> pki) : IExpiryWarningChannel
{
    public string Name => "email";

    public bool IsConfigured => !string.IsNullOrWhiteSpace(options.Value.Smtp.Host);

    public bool RequiresContactEmail => true;

    public async Task SendAsync(ExpiryWarning warning, CancellationToken cancellationToken)
    {
        var smtp = options.Value.Smtp;
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(smtp.From));
        message.To.Add(MailboxAddress.Parse(warning.ContactEmail!));
        message.Subject = $"Certificate {warning.Subject} expires {warning.NotAfter:yyyy-MM-dd HH:mm} UTC";
        message.Headers.Add("X-Pki-Delivery-Id", warning.DeliveryId);
        message.Body = new TextPart("plain") { Text = Body(warning, pki.Value.PublicBaseUrl) };

        using var client = new SmtpClient { Timeout = 10_000 };
        var security = !smtp.UseTls ? SecureSocketOptions.None
            : smtp.Port == 465 ? SecureSocketOptions.SslOnConnect
            : SecureSocketOptions.StartTls;
        await client.ConnectAsync(smtp.Host!, smtp.Port, security, cancellationToken);
        if (!string.IsNullOrEmpty(smtp.UserName))
        {
            await client.AuthenticateAsync(smtp.UserName, smtp.Password ?? string.Empty, cancellationToken);
        }
        await client.SendAsync(message, cancellationToken);
        await client.DisconnectAsync(quit: true, cancellationToken);
    }

    private static string Body(ExpiryWarning warning, string publicBaseUrl) => $"""
        The certificate below expires in less than {warning.Threshold} (ISO 8601).

          Subject:       {warning.Subject}
          SANs:          {string.Join(", ", warning.Sans)}
          Serial number: {warning.SerialNumber}
          Profile:       {warning.Profile}
          Not after:     {warning.NotAfter:yyyy-MM-dd HH:mm:ss} UTC

        To renew, the client presents its current certificate over mTLS with a CSR for the same subject and
        SANs (POST /api/v1/renew on the mTLS listener; ops/rotate-certificate.sh does it with openssl and curl).

        Or ask an administrator for a new enrollment token. CA certificates: {publicBaseUrl}/pki/chain.pem

        Delivery id: {warning.DeliveryId}
        """;
}
