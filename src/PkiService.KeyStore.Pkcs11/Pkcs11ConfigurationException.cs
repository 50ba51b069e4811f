namespace PkiService.KeyStore.Pkcs11;

/// <summary>
/// The PKCS#11 key store cannot start: the module does not load, no token has the configured label, or the PIN is
/// refused. The message is one line that names the configuration key to fix (<c>Pkcs11:Library</c>,
/// <c>Pkcs11:TokenLabel</c>, <c>Pkcs11:Pin</c>) and never contains the PIN.
/// </summary>
public sealed class Pkcs11ConfigurationException : Exception
{
    public Pkcs11ConfigurationException(string message)
        : base(message)
    {
    }

    public Pkcs11ConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
