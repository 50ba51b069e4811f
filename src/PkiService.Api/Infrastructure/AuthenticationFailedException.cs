namespace PkiService.Api.Infrastructure;

/// <summary>A bearer credential handled by a feature itself (an enrollment token) is missing, unknown, used or expired (HTTP 401).</summary>
public sealed class AuthenticationFailedException(string message) : Exception(message);
