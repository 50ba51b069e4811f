using System.Security.Claims;

namespace PkiService.Api.Authentication;

/// <summary>
/// The claims an authenticated caller carries. Kept apart from the authentication handler so that whoever reads them
/// (the audit trail, endpoints) does not depend on the handler, and the handler does not depend on its readers.
/// </summary>
public static class PkiClaims
{
    /// <summary>The id of the API key that authenticated the request.</summary>
    public const string KeyId = "api_key_id";

    /// <summary>The key's role, one of <see cref="ApiRoles"/>.</summary>
    public const string Role = ClaimTypes.Role;
}

/// <summary>API key roles.</summary>
public static class ApiRoles
{
    /// <summary>Everything.</summary>
    public const string Admin = "admin";

    /// <summary>Create enrollment tokens only.</summary>
    public const string Enroller = "enroller";

    /// <summary>Read-only: certificates, notifications, audit.</summary>
    public const string Auditor = "auditor";

    public static readonly string[] All = [Admin, Enroller, Auditor];
}

/// <summary>Authorization policies, one per kind of admin call.</summary>
public static class ApiPolicies
{
    /// <summary>Changes state or manages keys: admin only.</summary>
    public const string Admin = "admin";

    /// <summary>Creates enrollment tokens: admin or enroller.</summary>
    public const string Enroll = "enroll";

    /// <summary>Reads inventory, deliveries and audit: admin or auditor.</summary>
    public const string Read = "read";
}
