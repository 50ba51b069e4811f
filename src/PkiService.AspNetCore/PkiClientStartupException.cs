namespace PkiService.AspNetCore;

/// <summary>
/// The host cannot start with the <c>PkiClient</c> settings or with what PkiService served (missing or malformed
/// setting, root that does not match <c>PkiClient:RootFingerprint</c>, issuing CA that does not chain to it,
/// PkiService unreachable for <c>PkiClient:StartupTimeout</c>). The message names the setting and the fix.
/// </summary>
public sealed class PkiClientStartupException(string message, Exception? inner = null) : Exception(message, inner);
