namespace PkiService.Persistence.Entities;

/// <summary>Delivery states of an expiry warning.</summary>
public enum NotificationStatus
{
    /// <summary>Recorded, not yet delivered; <see cref="ExpiryNotificationRecord.NextAttemptAt"/> says when to try.</summary>
    Pending = 0,

    /// <summary>Delivered once successfully; never sent again.</summary>
    Sent = 1,

    /// <summary>Every attempt failed; kept visible for operators.</summary>
    Failed = 2,

    /// <summary>A wider threshold the certificate was already inside of when a nearer one was warned: recorded, not sent.</summary>
    Passed = 3,
}

/// <summary>
/// One expiry warning in the outbox: recorded before delivery, so a restart or a second scanner never sends it twice.
/// </summary>
public sealed class ExpiryNotificationRecord
{
    public long Id { get; set; }

    public long CertificateId { get; set; }

    public required string SerialNumber { get; set; }

    /// <summary>The threshold as configured, ISO 8601 (P7D).</summary>
    public required string Threshold { get; set; }

    /// <summary>webhook or email.</summary>
    public required string Channel { get; set; }

    public NotificationStatus Status { get; set; }

    /// <summary>Sent to receivers so they can drop duplicates.</summary>
    public required string DeliveryId { get; set; }

    public int Attempts { get; set; }

    public DateTime NextAttemptAt { get; set; }

    public string? LastError { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime? SentAt { get; set; }
}
