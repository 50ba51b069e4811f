using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using PkiService.Api.Infrastructure;
using PkiService.Api.Authentication;

namespace PkiService.Api.Features.Expiry;

public static class ExpiryEndpoints
{
    public static IEndpointRouteBuilder MapExpiryEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/notifications", ListAsync)
            .WithTags("Expiry warnings")
            .WithName("ListNotifications")
            .WithSummary("List expiry warning deliveries")
            .WithDescription("Admin or auditor. Each (certificate, threshold, channel) appears once: pending, sent, failed after all retries, or passed.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .RequireAuthorization(ApiPolicies.Read);
        return app;
    }

    private static async Task<Ok<NotificationPage>> ListAsync(
        IMediator mediator, CancellationToken cancellationToken, string? status = null, int page = 1, int pageSize = 50) =>
        TypedResults.Ok(await mediator.Send(new ListNotifications(status, page, pageSize), cancellationToken));
}
