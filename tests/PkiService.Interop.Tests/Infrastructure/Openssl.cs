using System.Text.RegularExpressions;

namespace PkiService.Interop.Tests.Infrastructure;

/// <summary>Key types openssl makes for the tests, as <c>openssl genpkey</c> arguments.</summary>
public enum KeyType
{
    Rsa2048,
    EcP256,
    EcP384,
    Ed25519,
}

/// <summary>The openssl command line, run in one working directory.</summary>
public sealed partial class Openssl(string executable, string workingDirectory)
{
    public string WorkingDirectory => workingDirectory;

    public Task<CommandResult> RunAsync(params string[] arguments) =>
        ExternalCommand.RunAsync(executable, arguments, workingDirectory);

    /// <summary><c>openssl genpkey</c> into <paramref name="keyFile"/>.</summary>
    public async Task GenerateKeyAsync(KeyType type, string keyFile)
    {
        string[] algorithm = type switch
        {
            KeyType.Rsa2048 => ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            KeyType.EcP256 => ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            KeyType.EcP384 => ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            KeyType.Ed25519 => ["-algorithm", "ED25519"],
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
        };
        (await RunAsync(["genpkey", .. algorithm, "-out", keyFile])).EnsureSuccess();
    }

    /// <summary><c>openssl req -new</c> for CN=<paramref name="commonName"/> with the given subjectAltName value (e.g. <c>URI:spiffe://…</c>); returns the PEM.</summary>
    public async Task<string> CreateCsrAsync(string keyFile, string commonName, string subjectAltName, string csrFile)
    {
        (await RunAsync("req", "-new", "-key", keyFile, "-subj", $"/CN={commonName}",
            "-addext", $"subjectAltName={subjectAltName}", "-out", csrFile)).EnsureSuccess();
        return await File.ReadAllTextAsync(Path.Combine(workingDirectory, csrFile));
    }

    /// <summary><c>openssl x509 -text -noout</c> of a PEM certificate file.</summary>
    public async Task<string> TextAsync(string certificateFile) =>
        (await RunAsync("x509", "-in", certificateFile, "-noout", "-text")).EnsureSuccess().StandardOutput;

    /// <summary>
    /// The "X509v3 extensions" of <c>openssl x509 -text</c> output: name (as openssl prints it) to
    /// whether it is critical and its value lines joined by '\n'.
    /// </summary>
    public static IReadOnlyDictionary<string, (bool Critical, string Value)> Extensions(string x509Text)
    {
        var extensions = new Dictionary<string, (bool, string)>();
        var inExtensions = false;
        string? name = null;
        var critical = false;
        var value = new List<string>();

        void Flush()
        {
            if (name is not null)
            {
                extensions[name] = (critical, string.Join('\n', value));
            }
            name = null;
            value.Clear();
        }

        foreach (var line in x509Text.Split('\n'))
        {
            if (line.Trim() == "X509v3 extensions:")
            {
                inExtensions = true;
                continue;
            }
            if (!inExtensions)
            {
                continue;
            }
            var indent = line.Length - line.TrimStart().Length;
            if (indent <= 4 && line.Trim().Length > 0)
            {
                break; // "    Signature Algorithm: …" ends the extensions
            }
            var header = ExtensionHeader().Match(line);
            if (header.Success && indent == 12)
            {
                Flush();
                name = header.Groups["name"].Value;
                critical = header.Groups["critical"].Success;
            }
            else if (name is not null && line.Trim().Length > 0)
            {
                value.Add(line.Trim());
            }
        }
        Flush();
        return extensions;
    }

    [GeneratedRegex(@"^\s+(?<name>[^:]+):(?<critical> critical)?\s*$")]
    private static partial Regex ExtensionHeader();
}
