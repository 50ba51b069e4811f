using Mediator;
using Microsoft.EntityFrameworkCore;
using PkiService.Persistence;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Features.Expiry;

/// <summary>One expiry warning delivery as the admin API shows it.</summary>
/// <param name="DeliveryId">Identifier sent to the receiver (X-Pki-Delivery-Id).</param>
/// <param name="SerialNumber">The certificate warned about.</param>
/// <param name="Threshold">ISO 8601 threshold before notAfter.</param>
/// <param name="Channel">webhook or email.</param>
/// <param name="Status">pending, sent, failed, or passed (a wider threshold skipped because a nearer one was sent).</param>
/// <param name="Attempts">Delivery attempts so far.</param>
/// <param name="NextAttemptAt">When a pending warning is tried next.</param>
/// <param name="LastError">Why the last attempt failed.</param>
/// <param name="CreatedAt">When the warning was recorded.</param>
/// <param name="SentAt">When it was delivered.</param>
public sealed record NotificationView(
    string DeliveryId, string SerialNumber, string Threshold, string Channel, string Status, int Attempts,
    DateTimeOffset NextAttemptAt, string? LastError, DateTimeOffset CreatedAt, DateTimeOffset? SentAt);

/// <summary>A page of deliveries.</summary>
/// <param name="Items">Newest first.</param>
/// <param name="Total">How many match in all.</param>
public sealed record NotificationPage(IReadOnlyList<NotificationView> Items, int Total);

/// <summary>Lists expiry warning deliveries, optionally by status.</summary>
public sealed record ListNotifications(string? Status, int Page, int PageSize) : IQuery<NotificationPage>;

public sealed class ListNotificationsHandler(PkiDbContext db) : IQueryHandler<ListNotifications, NotificationPage>
{
    public async ValueTask<NotificationPage> Handle(ListNotifications query, CancellationToken cancellationToken)
    {
        IQueryable<ExpiryNotificationRecord> rows = db.ExpiryNotifications.AsNoTracking();
        if (query.Status is not null && Enum.TryParse<NotificationStatus>(query.Status, ignoreCase: true, out var status))
        {
            rows = rows.Where(n => n.Status == status);
        }
        var total = await rows.CountAsync(cancellationToken);
        var page = await rows.OrderByDescending(n => n.Id).Skip((query.Page - 1) * query.PageSize).Take(query.PageSize).ToListAsync(cancellationToken);
        return new NotificationPage(page.Select(n => new NotificationView(
            n.DeliveryId, n.SerialNumber, n.Threshold, n.Channel, n.Status.ToString().ToLowerInvariant(), n.Attempts,
            Utc(n.NextAttemptAt), n.LastError, Utc(n.CreatedAt), n.SentAt is { } sent ? Utc(sent) : null)).ToList(), total);
    }

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
