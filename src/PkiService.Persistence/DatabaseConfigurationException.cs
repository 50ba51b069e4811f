namespace PkiService.Persistence;

/// <summary>
/// The database settings name no usable database (an unknown <c>Database:Provider</c>, an unusable
/// <c>ConnectionStrings:Pki</c>, a PostgreSQL server the start cannot reach or log in to). The message is one line that
/// names the setting and says how to fix it; the web host turns it into its refused start (exit code 1), before
/// anything is written.
/// </summary>
public sealed class DatabaseConfigurationException(string message) : Exception(message);
