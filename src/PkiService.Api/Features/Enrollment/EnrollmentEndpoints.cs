using System.Security.Claims;
using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using PkiService.Api.Infrastructure;
using PkiService.Api.Authentication;
using PkiService.Api.Issuance;

namespace PkiService.Api.Features.Enrollment;

public static class EnrollmentEndpoints
{
    /// <summary>The largest enrollment body accepted (a 4096-bit RSA CSR is about 1.7 KiB).</summary>
    public const long MaxEnrollmentBodyBytes = CsrRequestRules.MaxBodyBytes;

    public static IEndpointRouteBuilder MapEnrollmentEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1").WithTags("Enrollment");

        api.MapPost("/enroll", EnrollAsync)
            .WithName("Enroll")
            .WithSummary("Enroll a CSR with a one-time enrollment token")
            .WithDescription("Send the enrollment token as 'Authorization: Bearer <token>' and a PEM PKCS#10 CSR. The token is consumed only when a certificate is issued.")
            .WithMetadata(new RequestSizeLimitAttribute(MaxEnrollmentBodyBytes), SwaggerSetup.BearerCredentialMetadata)
            .Accepts<EnrollRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .RequireRateLimiting(RequestProtection.EnrollmentPolicy)
            .AllowAnonymous();

        api.MapPost("/enrollment-tokens", CreateTokenAsync)
            .WithName("CreateEnrollmentToken")
            .WithSummary("Create a one-time enrollment token")
            .WithDescription("Admin or enroller. The token allows exactly the CN and SANs given here; its secret is shown only in this answer. "
                + "They must fit the API key's name policy, if it has one (403 otherwise); without a policy only admin keys may create 'server'-profile tokens.")
            .WithMetadata(new RequestSizeLimitAttribute(MaxEnrollmentBodyBytes))
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .RequireAuthorization(ApiPolicies.Enroll);

        var tokens = api.MapGroup("/enrollment-tokens").RequireAuthorization(ApiPolicies.Admin);
        tokens.MapGet("/", ListTokensAsync)
            .WithName("ListEnrollmentTokens")
            .WithSummary("List enrollment tokens (never their secrets)")
            .WithDescription("Admin. Filter by status: unused, used, expired, revoked.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        tokens.MapGet("/{id}", GetTokenAsync)
            .WithName("GetEnrollmentToken")
            .WithSummary("Read one enrollment token")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        tokens.MapDelete("/{id}", RevokeTokenAsync)
            .WithName("RevokeEnrollmentToken")
            .WithSummary("Revoke an unused enrollment token")
            .WithDescription("Admin. A revoked token is refused with 401 like a used one. A used token cannot be revoked (409): revoke its certificate.")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        return app;
    }

    private static async Task<Ok<EnrollmentTokenPage>> ListTokensAsync(
        IMediator mediator, CancellationToken cancellationToken, string? status = null, int page = 1, int pageSize = 50) =>
        TypedResults.Ok(await mediator.Send(new ListEnrollmentTokens(status, page, pageSize), cancellationToken));

    private static async Task<Ok<EnrollmentTokenView>> GetTokenAsync(string id, IMediator mediator, CancellationToken cancellationToken) =>
        TypedResults.Ok(await mediator.Send(new GetEnrollmentToken(id), cancellationToken));

    private static async Task<Ok<EnrollmentTokenView>> RevokeTokenAsync(string id, IMediator mediator, CancellationToken cancellationToken) =>
        TypedResults.Ok(await mediator.Send(new RevokeEnrollmentToken(id), cancellationToken));

    private static async Task<Created<EnrollmentResponse>> EnrollAsync(
        EnrollRequest body, HttpRequest request, IMediator mediator, CancellationToken cancellationToken)
    {
        var token = Secrets.ReadBearer(request.Headers.Authorization);
        var response = await mediator.Send(new EnrollCertificate(token, body.Csr, body.Validity), cancellationToken);
        return TypedResults.Created($"/api/v1/certificates/{response.SerialNumber}", response);
    }

    private static async Task<Created<CreateEnrollmentTokenResponse>> CreateTokenAsync(
        CreateEnrollmentTokenRequest body, ClaimsPrincipal user, IMediator mediator, CancellationToken cancellationToken)
    {
        var response = await mediator.Send(new CreateEnrollmentToken(body, user.FindFirstValue(PkiClaims.KeyId), user.FindFirstValue(PkiClaims.Role)), cancellationToken);
        return TypedResults.Created($"/api/v1/enrollment-tokens/{response.Id}", response);
    }
}
