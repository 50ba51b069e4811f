using Mediator;
using Microsoft.EntityFrameworkCore;
using PkiService.Api.Infrastructure;
using PkiService.Core.Errors;
using PkiService.Core.Issuance;
using PkiService.Core.Primitives;
using PkiService.Persistence;
using PkiService.Persistence.Entities;
using PkiService.Api.Audit;
using PkiService.Api.Authentication;
using PkiService.Api.Issuance;

namespace PkiService.Api.Features.Enrollment;

/// <summary>Body of POST /api/v1/enrollment-tokens.</summary>
/// <param name="CommonName">The only CN a certificate enrolled with this token may carry.</param>
/// <param name="Sans">SANs the certificate may carry: an IP when it parses as one, a URI when it starts with a scheme (spiffe://, urn:, https://), an e-mail when it has '@', else a DNS name (IDNs are stored as A-labels).</param>
/// <param name="Profile">Certificate profile: 'client' (default) or 'server'.</param>
/// <param name="Ttl">How long the token stays usable, ISO 8601 (default PT1H).</param>
/// <param name="ContactEmail">Who to warn before the certificate expires.</param>
/// <param name="MaxValidity">The longest validity a certificate enrolled with this token may get, ISO 8601 (default: the API key's policy maximum, else the profile's).</param>
public sealed record CreateEnrollmentTokenRequest(string? CommonName, string[]? Sans, string? Profile, string? Ttl, string? ContactEmail, string? MaxValidity = null);

/// <summary>A new token; the secret is shown only here.</summary>
/// <param name="Id">Public identifier of the token.</param>
/// <param name="Token">The one-time secret to send as 'Authorization: Bearer' to /api/v1/enroll.</param>
/// <param name="ExpiresAt">When the token stops being accepted.</param>
/// <param name="MaxValidity">The validity cap of certificates enrolled with it (ISO 8601), if it has one.</param>
public sealed record CreateEnrollmentTokenResponse(string Id, string Token, DateTimeOffset ExpiresAt, string? MaxValidity);

/// <summary>Creates a one-time enrollment token.</summary>
/// <param name="Body">The request.</param>
/// <param name="CreatedByApiKeyId">The API key creating it, whose name policy the token must fit.</param>
/// <param name="CreatedByRole">That key's role: without a policy, only an admin may create tokens for other profiles than client.</param>
public sealed record CreateEnrollmentToken(CreateEnrollmentTokenRequest Body, string? CreatedByApiKeyId, string? CreatedByRole = null)
    : ICommand<CreateEnrollmentTokenResponse>;

public sealed partial class CreateEnrollmentTokenHandler(PkiDbContext db, AuditTrail audit, TimeProvider time, ILogger<CreateEnrollmentTokenHandler> logger)
    : ICommandHandler<CreateEnrollmentToken, CreateEnrollmentTokenResponse>
{
    public static readonly TimeSpan DefaultTtl = TimeSpan.FromHours(1);

    public async ValueTask<CreateEnrollmentTokenResponse> Handle(CreateEnrollmentToken command, CancellationToken cancellationToken)
    {
        var body = command.Body;
        var now = time.GetUtcNow();
        var ttl = body.Ttl is null ? DefaultTtl : IsoDuration.TryParse(body.Ttl, out var parsed) ? parsed : DefaultTtl;
        var commonName = body.CommonName!.Trim();
        var sans = (body.Sans ?? []).Select(StoredForm).Distinct().ToList();
        var profile = body.Profile ?? CertificateProfile.Client.Name;
        TimeSpan? maxValidity = body.MaxValidity is null ? null : IsoDuration.TryParse(body.MaxValidity, out var max) ? max : null;
        maxValidity = await AuthorizeAsync(command, commonName, sans, profile, maxValidity, cancellationToken);

        var secret = Secrets.Generate(Secrets.EnrollmentTokenPrefix);
        var record = new EnrollmentTokenRecord
        {
            Id = Secrets.NewId(),
            SecretHash = Secrets.Hash(secret),
            CommonName = commonName,
            SubjectAltNames = sans.Select(s => s.Value).ToList(),
            Profile = profile,
            ContactEmail = body.ContactEmail,
            CreatedAt = now.UtcDateTime,
            ExpiresAt = (now + ttl).UtcDateTime,
            MaxValidity = maxValidity,
            CreatedByApiKeyId = command.CreatedByApiKeyId,
        };
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        db.EnrollmentTokens.Add(record);
        await audit.AppendAsync(new AuditEntry(audit.CurrentApiKeyActor, "token.create", record.Id, Success: true,
            $"CN {record.CommonName}, profile {record.Profile}, {record.SubjectAltNames.Count} SANs, expires {record.ExpiresAt:O}"
            + (maxValidity is { } cap ? $", maxValidity {IsoDuration.Format(cap)}" : "")), cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        LogTokenCreated(logger, record.Id, record.CommonName, record.Profile, record.ExpiresAt);
        return new CreateEnrollmentTokenResponse(record.Id, secret, new DateTimeOffset(record.ExpiresAt, TimeSpan.Zero), EnrollmentTokenView.Format(maxValidity));
    }

    /// <summary>
    /// Checks the token against the creating key's name policy and gives the validity cap to store (the one asked for,
    /// or the policy's). A key without a policy may create any names; only an admin key may then use a profile other
    /// than client. A refusal is audited (token.create, failure, naming the rule) before the 403.
    /// </summary>
    private async Task<TimeSpan?> AuthorizeAsync(
        CreateEnrollmentToken command, string commonName, IReadOnlyList<SubjectAltName> sans, string profile, TimeSpan? maxValidity, CancellationToken cancellationToken)
    {
        var keyId = command.CreatedByApiKeyId;
        var json = keyId is null
            ? null
            : await db.ApiKeys.AsNoTracking().Where(k => k.Id == keyId).Select(k => k.NamePolicy).FirstOrDefaultAsync(cancellationToken);
        try
        {
            if (NamePolicyDocument.FromJson(json)?.ToPolicy() is { } policy)
            {
                policy.Authorize(commonName, sans, profile, maxValidity);
                return maxValidity ?? policy.MaxValidity;
            }
            if (command.CreatedByRole != ApiRoles.Admin && !NamePolicy.DefaultProfiles.Contains(profile))
            {
                throw new PolicyRefusedException(
                    $"Only admin keys may create '{profile}'-profile tokens; ask an admin, or for a name policy on this key that lists '{profile}'.");
            }
            return maxValidity;
        }
        catch (PolicyRefusedException refused)
        {
            LogTokenRefused(logger, keyId, commonName, profile);
            await audit.AppendAsync(new AuditEntry(audit.CurrentApiKeyActor, "token.create", null, Success: false, refused.Message), CancellationToken.None);
            throw;
        }
    }

    /// <summary>The stored form of a SAN the validator has accepted (A-label DNS names, canonical IPs).</summary>
    private static SubjectAltName StoredForm(string text) =>
        SubjectAltName.TryParse(text, out var name, out var error) ? name : throw new InvalidRequestException(error);

    [LoggerMessage(EventId = 3001, EventName = "EnrollmentTokenCreated", Level = LogLevel.Information,
        Message = "Created enrollment token {TokenId} for CN {CommonName}, profile {Profile}, expires {ExpiresAt:O}")]
    private static partial void LogTokenCreated(ILogger logger, string tokenId, string commonName, string profile, DateTime expiresAt);

    [LoggerMessage(EventId = 3003, EventName = "EnrollmentTokenRefused", Level = LogLevel.Warning,
        Message = "Refused an enrollment token for CN {CommonName}, profile {Profile}, to API key {ApiKeyId}: outside its name policy")]
    private static partial void LogTokenRefused(ILogger logger, string? apiKeyId, string commonName, string profile);
}
