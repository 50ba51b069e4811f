using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using PkiService.Api.Audit;
using PkiService.Api.Authentication;
using PkiService.Persistence;

namespace PkiService.Api.Infrastructure;

/// <summary>
/// Authenticates admin API calls by <c>Authorization: Bearer &lt;API key&gt;</c>. Keys are looked up by
/// their SHA-256 and compared in constant time; the key itself is never logged or stored.
/// </summary>
public sealed partial class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    PkiDbContext db,
    AuditTrail audit,
    AnonymousFailureAudit anonymousFailures)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        // Only endpoints that require authorization look at the bearer value: on public and enrollment endpoints it is
        // not an API key (it may be an enrollment token), so it must not count as a failed API key attempt.
        var endpoint = Context.GetEndpoint();
        if (endpoint is null
            || endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAllowAnonymous>() is not null
            || endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAuthorizeData>() is null)
        {
            return AuthenticateResult.NoResult();
        }
        var presented = Secrets.ReadBearer(Request.Headers.Authorization);
        if (presented is null)
        {
            return AuthenticateResult.NoResult();
        }
        var hash = Secrets.Hash(presented);
        var key = await db.ApiKeys.AsNoTracking().FirstOrDefaultAsync(k => k.SecretHash == hash, Context.RequestAborted);
        if (key is null || key.RevokedAt is not null || !Secrets.Matches(key.SecretHash, presented))
        {
            LogRejected(Logger, Context.Connection.RemoteIpAddress?.ToString());
            // Anyone can send these: summarized rather than one row each (the throttle bounds each address, not their number).
            await anonymousFailures.RecordAsync(audit, new AuditEntry(AuditTrail.Anonymous, "auth.fail", Context.Request.Path, Success: false, "unknown or deleted API key"), Context.RequestAborted);
            return AuthenticateResult.Fail("The API key is not valid.");
        }
        var identity = new ClaimsIdentity(
            [new Claim(PkiClaims.KeyId, key.Id), new Claim(ClaimTypes.Name, key.Name), new Claim(PkiClaims.Role, key.Role)],
            SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        return WriteProblemAsync(StatusCodes.Status401Unauthorized, "Missing or invalid API key",
            "Send an admin API key as 'Authorization: Bearer <key>'.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        WriteProblemAsync(StatusCodes.Status403Forbidden, "The API key's role does not allow this call", null);

    private Task WriteProblemAsync(int status, string title, string? detail)
    {
        Response.StatusCode = status;
        return Results.Problem(statusCode: status, title: title, detail: detail).ExecuteAsync(Context);
    }

    [LoggerMessage(EventId = 2001, EventName = "ApiKeyRejected", Level = LogLevel.Warning,
        Message = "Rejected an API key from {ClientIp}")]
    private static partial void LogRejected(ILogger logger, string? clientIp);
}
