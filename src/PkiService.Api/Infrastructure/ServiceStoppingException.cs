namespace PkiService.Api.Infrastructure;

/// <summary>The service is shutting down and no longer takes this kind of work (HTTP 503 with Retry-After).</summary>
public sealed class ServiceStoppingException(string message) : Exception(message);
