namespace PkiService.Api.Features.Expiry;

/// <summary>What one warning says, whatever the channel.</summary>
public sealed record ExpiryWarning(
    string DeliveryId,
    string SerialNumber,
    string Subject,
    IReadOnlyList<string> Sans,
    string Profile,
    DateTimeOffset NotAfter,
    string Threshold,
    string? ContactEmail);

/// <summary>A way to deliver expiry warnings. Delivery either completes or throws; the dispatcher records which.</summary>
public interface IExpiryWarningChannel
{
    /// <summary>Stable channel name stored with each outbox row: "webhook" or "email".</summary>
    string Name { get; }

    /// <summary>False when its configuration is absent: no warnings are recorded for it.</summary>
    bool IsConfigured { get; }

    /// <summary>True when this channel needs the certificate's contact e-mail.</summary>
    bool RequiresContactEmail { get; }

    Task SendAsync(ExpiryWarning warning, CancellationToken cancellationToken);
}
