using Mediator;
using PkiService.Api.Infrastructure;
using PkiService.Core.Primitives;
using PkiService.Persistence;
using PkiService.Persistence.Entities;
using PkiService.Api.Audit;

namespace PkiService.Api.Features.Enrollment;

/// <summary>Body of POST /api/v1/enrollment-tokens.</summary>
/// <param name="CommonName">The only CN a certificate enrolled with this token may carry.</param>
/// <param name="Sans">SANs the certificate may carry: a URI when it has a scheme, an IP when it parses as one, an e-mail when it has '@', else a DNS name.</param>
/// <param name="Profile">Certificate profile: 'client' (default) or 'server'.</param>
/// <param name="Ttl">How long the token stays usable, ISO 8601 (default PT1H).</param>
/// <param name="ContactEmail">Who to warn before the certificate expires.</param>
public sealed record CreateEnrollmentTokenRequest(string? CommonName, string[]? Sans, string? Profile, string? Ttl, string? ContactEmail);

/// <summary>A new token; the secret is shown only here.</summary>
/// <param name="Id">Public identifier of the token.</param>
/// <param name="Token">The one-time secret to send as 'Authorization: Bearer' to /api/v1/enroll.</param>
/// <param name="ExpiresAt">When the token stops being accepted.</param>
public sealed record CreateEnrollmentTokenResponse(string Id, string Token, DateTimeOffset ExpiresAt);

/// <summary>Creates a one-time enrollment token.</summary>
public sealed record CreateEnrollmentToken(CreateEnrollmentTokenRequest Body, string? CreatedByApiKeyId) : ICommand<CreateEnrollmentTokenResponse>;

public sealed partial class CreateEnrollmentTokenHandler(PkiDbContext db, AuditTrail audit, TimeProvider time, ILogger<CreateEnrollmentTokenHandler> logger)
    : ICommandHandler<CreateEnrollmentToken, CreateEnrollmentTokenResponse>
{
    public static readonly TimeSpan DefaultTtl = TimeSpan.FromHours(1);

    public async ValueTask<CreateEnrollmentTokenResponse> Handle(CreateEnrollmentToken command, CancellationToken cancellationToken)
    {
        var body = command.Body;
        var now = time.GetUtcNow();
        var ttl = body.Ttl is null ? DefaultTtl : IsoDuration.TryParse(body.Ttl, out var parsed) ? parsed : DefaultTtl;
        var secret = Secrets.Generate(Secrets.EnrollmentTokenPrefix);
        var record = new EnrollmentTokenRecord
        {
            Id = Secrets.NewId(),
            SecretHash = Secrets.Hash(secret),
            CommonName = body.CommonName!.Trim(),
            SubjectAltNames = (body.Sans ?? []).Select(s => SubjectAltName.Classify(s).Value).Distinct().ToList(),
            Profile = body.Profile ?? "client",
            ContactEmail = body.ContactEmail,
            CreatedAt = now.UtcDateTime,
            ExpiresAt = (now + ttl).UtcDateTime,
            CreatedByApiKeyId = command.CreatedByApiKeyId,
        };
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        db.EnrollmentTokens.Add(record);
        await audit.AppendAsync(new AuditEntry(audit.CurrentApiKeyActor, "token.create", record.Id, Success: true,
            $"CN {record.CommonName}, profile {record.Profile}, {record.SubjectAltNames.Count} SANs, expires {record.ExpiresAt:O}"), cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        LogTokenCreated(logger, record.Id, record.CommonName, record.Profile, record.ExpiresAt);
        return new CreateEnrollmentTokenResponse(record.Id, secret, new DateTimeOffset(record.ExpiresAt, TimeSpan.Zero));
    }

    [LoggerMessage(EventId = 3001, EventName = "EnrollmentTokenCreated", Level = LogLevel.Information,
        Message = "Created enrollment token {TokenId} for CN {CommonName}, profile {Profile}, expires {ExpiresAt:O}")]
    private static partial void LogTokenCreated(ILogger logger, string tokenId, string commonName, string profile, DateTime expiresAt);
}
