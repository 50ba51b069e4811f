using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using PkiService.Api.Infrastructure;
using PkiService.Api.Authentication;

namespace PkiService.Api.Features.ApiKeys;

public static class ApiKeyEndpoints
{
    public static IEndpointRouteBuilder MapApiKeyEndpoints(this IEndpointRouteBuilder app)
    {
        var keys = app.MapGroup("/api/v1/api-keys").WithTags("API keys").RequireAuthorization(ApiPolicies.Admin);

        keys.MapPost("/", CreateAsync)
            .WithName("CreateApiKey")
            .WithSummary("Create an API key")
            .WithDescription("Admin. Roles: admin (everything), enroller (create enrollment tokens only), auditor (read-only). The key is shown once. "
                + "An optional namePolicy (dnsSuffixes, uriPrefixes, ipNetworks, commonNamePattern, profiles, maxValidity) limits every enrollment token the key creates.")
            .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(16 * 1024))
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        keys.MapGet("/", ListAsync)
            .WithName("ListApiKeys")
            .WithSummary("List API keys (never their secrets)")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        keys.MapDelete("/{id}", DeleteAsync)
            .WithName("DeleteApiKey")
            .WithSummary("Delete an API key; it stops working at once")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<Created<CreateApiKeyResponse>> CreateAsync(CreateApiKeyRequest body, IMediator mediator, CancellationToken cancellationToken)
    {
        var created = await mediator.Send(new CreateApiKey(body.Name, body.Role, body.NamePolicy), cancellationToken);
        return TypedResults.Created($"/api/v1/api-keys/{created.Id}", created);
    }

    private static async Task<Ok<IReadOnlyList<ApiKeyView>>> ListAsync(IMediator mediator, CancellationToken cancellationToken) =>
        TypedResults.Ok(await mediator.Send(new ListApiKeys(), cancellationToken));

    private static async Task<Ok<ApiKeyView>> DeleteAsync(string id, IMediator mediator, CancellationToken cancellationToken) =>
        TypedResults.Ok(await mediator.Send(new DeleteApiKey(id), cancellationToken));
}
