using System.Security.Cryptography;

namespace PkiService.Core.Authorities;

/// <summary>
/// Keeps each CA as two files in the data directory: <c>&lt;name&gt;.crt</c> (PEM certificate) and
/// <c>&lt;name&gt;.key</c> (PEM "ENCRYPTED PRIVATE KEY"), both mode 0600, written atomically.
/// </summary>
public sealed class FileCaKeyStore(string directory) : ICaKeyStore, ICaCertificateStore
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <inheritdoc />
    public bool TryLoad(string name, out byte[] certificateDer, out byte[] encryptedPkcs8)
    {
        var certPath = CertificatePath(name);
        var keyPath = KeyPath(name);
        if (!File.Exists(certPath) || !File.Exists(keyPath))
        {
            certificateDer = [];
            encryptedPkcs8 = [];
            return false;
        }
        certificateDer = ReadPem(certPath, "CERTIFICATE");
        encryptedPkcs8 = ReadPem(keyPath, "ENCRYPTED PRIVATE KEY");
        return true;
    }

    /// <inheritdoc />
    public void Save(string name, byte[] certificateDer, byte[] encryptedPkcs8)
    {
        Directory.CreateDirectory(directory);
        WriteAtomically(KeyPath(name), PemEncoding.WriteString("ENCRYPTED PRIVATE KEY", encryptedPkcs8) + "\n");
        WriteAtomically(CertificatePath(name), PemEncoding.WriteString("CERTIFICATE", certificateDer) + "\n");
    }

    /// <inheritdoc />
    /// <remarks>Kept as <c>&lt;name&gt;.crt</c>, a PEM bundle, with no <c>.key</c> beside it.</remarks>
    public IReadOnlyList<byte[]>? TryLoadCertificates(string name)
    {
        var path = CertificatePath(name);
        if (!File.Exists(path))
        {
            return null;
        }
        var text = File.ReadAllText(path);
        var certificates = new List<byte[]>();
        var rest = text.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            if (!rest[fields.Label].SequenceEqual("CERTIFICATE"))
            {
                throw new InvalidDataException($"{path} holds a PEM '{rest[fields.Label]}', expected 'CERTIFICATE'.");
            }
            certificates.Add(Convert.FromBase64String(rest[fields.Base64Data].ToString()));
            rest = rest[fields.Location.End..];
        }
        return certificates;
    }

    /// <inheritdoc />
    public void SaveCertificates(string name, IReadOnlyList<byte[]> certificatesDer)
    {
        ArgumentNullException.ThrowIfNull(certificatesDer);
        Directory.CreateDirectory(directory);
        WriteAtomically(CertificatePath(name), string.Concat(certificatesDer.Select(c => PemEncoding.WriteString("CERTIFICATE", c) + "\n")));
    }

    private string CertificatePath(string name) => Path.Combine(directory, name + ".crt");

    private string KeyPath(string name) => Path.Combine(directory, name + ".key");

    private static byte[] ReadPem(string path, string label)
    {
        var text = File.ReadAllText(path);
        var fields = PemEncoding.Find(text);
        if (!text[fields.Label].Equals(label, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path} holds a PEM '{text[fields.Label]}', expected '{label}'.");
        }
        return Convert.FromBase64String(text[fields.Base64Data]);
    }

    private static void WriteAtomically(string path, string contents)
    {
        var temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly;
        }
        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(contents);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }
}
