using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using PkiService.AspNetCore.Identity;
using PkiService.AspNetCore.Refusals;

namespace PkiService.AspNetCore.Authorization;

/// <summary>A named policy of <c>PkiClient:Authorization</c>.</summary>
internal sealed class PkiPolicyRequirement(string name, PkiAuthorizationRule rule) : IAuthorizationRequirement
{
    public string Name { get; } = name;

    public PkiAuthorizationRule Rule { get; } = rule;
}

/// <summary>Checks <see cref="PkiPolicyRequirement"/>; a certificate that fails it is refused with reason <c>policy</c> (403).</summary>
internal sealed class PkiPolicyHandler(ClientCertificateRefusals refusals) : AuthorizationHandler<PkiPolicyRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, PkiPolicyRequirement requirement)
    {
        var identity = context.User.Identities.FirstOrDefault(i => i.IsAuthenticated && i.AuthenticationType == PkiAuthenticationDefaults.Scheme);
        if (identity is null)
        {
            // Not authenticated by a certificate: RequireAuthenticatedUser answers with a challenge (401).
            return Task.CompletedTask;
        }
        if (PkiPolicyMatcher.Matches(requirement.Rule, identity.Claims))
        {
            context.Succeed(requirement);
        }
        else
        {
            refusals.Refuse((context.Resource as HttpContext)?.Connection.ClientCertificate, RefusalReason.Policy, RefusalStage.Authorization);
        }
        return Task.CompletedTask;
    }
}

/// <summary>Adds one authorization policy per entry of <c>PkiClient:Authorization</c>, usable as <c>RequireAuthorization("name")</c>.</summary>
internal sealed class PkiAuthorizationPolicies(IOptions<PkiClientOptions> options) : IConfigureOptions<AuthorizationOptions>
{
    public void Configure(AuthorizationOptions authorization)
    {
        foreach (var (name, rule) in options.Value.Authorization)
        {
            authorization.AddPolicy(name, policy => policy
                .AddAuthenticationSchemes(PkiAuthenticationDefaults.Scheme)
                .RequireAuthenticatedUser()
                .AddRequirements(new PkiPolicyRequirement(name, rule)));
        }
    }
}
