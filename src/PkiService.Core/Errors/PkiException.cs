namespace PkiService.Core.Errors;

/// <summary>
/// The small closed set of errors the CA core raises. The web host maps each to one HTTP status;
/// every message names the bad value and how to fix it.
/// </summary>
public abstract class PkiException(string message) : Exception(message);

/// <summary>The request is malformed or names something in a form we cannot read (HTTP 400).</summary>
public sealed class InvalidRequestException(string message) : PkiException(message);

/// <summary>The CSR cannot be parsed, its signature does not verify, or its key or names break policy (HTTP 400).</summary>
public sealed class CsrRejectedException(string message) : PkiException(message);

/// <summary>The caller is authenticated but policy forbids the action (HTTP 403).</summary>
public sealed class PolicyRefusedException(string message) : PkiException(message);

/// <summary>The named certificate, token or key does not exist (HTTP 404).</summary>
public sealed class NotFoundException(string message) : PkiException(message);

/// <summary>The action conflicts with the current state, such as revoking a revoked certificate (HTTP 409).</summary>
public sealed class ConflictException(string message) : PkiException(message);
