using System.CommandLine;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using PkiService.Cli.Infrastructure;

namespace PkiService.Cli.Commands;

/// <summary>
/// <c>pki bootstrap --url URL --fingerprint SHA256 [--mtls-url URL]</c>: fetches the root (<c>GET /pki/root.crt</c>,
/// DER), refuses it unless the SHA-256 of its DER is the fingerprint given out of band, and saves URL and root. The
/// fetch itself is not trusted (there is nothing to trust yet): the fingerprint is what authenticates the root.
/// </summary>
public static class BootstrapCommand
{
    public static Command Create()
    {
        var url = new Option<string>("--url") { Description = "The service's base URL, such as https://pki.example.org.", Required = true };
        var fingerprint = new Option<string>("--fingerprint")
        {
            Description = "SHA-256 of the root certificate's DER, hex (any case, colons allowed): 'openssl x509 -in root.pem -outform der | sha256sum'.",
            Required = true,
        };
        var mtlsUrl = new Option<string?>("--mtls-url")
        {
            Description = "Where renewal goes (the service's Pki:MtlsUrl); default: --url (one address serving both, behind a proxy).",
        };
        var json = PkiCommands.Json();
        var command = new Command("bootstrap", "Fetch the CA's root, check it against its fingerprint, and save it as the only trust anchor.")
        {
            url, fingerprint, mtlsUrl, json,
        };
        command.SetCliAction(async (parse, cancellationToken) =>
        {
            var baseUrl = Absolute(parse.GetRequiredValue(url), "--url");
            var renewUrl = parse.GetValue(mtlsUrl) is { } m ? Absolute(m, "--mtls-url") : null;
            var expected = ParseFingerprint(parse.GetRequiredValue(fingerprint));

            using var http = PkiHttp.Create(new Uri(baseUrl + "/"), root: null, acceptAnyServerCertificate: true);
            using var response = await PkiHttp.GetAsync(http, "pki/root.crt", cancellationToken);
            var der = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            var actual = SHA256.HashData(der);
            if (!CryptographicOperations.FixedTimeEquals(actual, expected))
            {
                throw CliException.Trust(
                    $"The root served by {baseUrl} has fingerprint {Convert.ToHexStringLower(actual)}, not the one given; nothing was saved.");
            }
            X509Certificate2 root;
            try
            {
                root = X509CertificateLoader.LoadCertificate(der);
            }
            catch (CryptographicException e)
            {
                throw CliException.Trust($"{baseUrl}/pki/root.crt is not a certificate ({e.Message}).");
            }
            using (root)
            {
                var config = new CliConfig(baseUrl, renewUrl, root.ExportCertificatePem() + "\n", Convert.ToHexStringLower(actual));
                var path = parse.GetValue(PkiCommands.Config) ?? CliConfig.DefaultPath;
                config.Save(path);
                if (parse.GetValue(json))
                {
                    Console.WriteLine(JsonSerializer.Serialize(new
                    {
                        config = Path.GetFullPath(path), url = baseUrl, mtlsUrl = renewUrl, fingerprint = config.Fingerprint,
                        subject = root.Subject, notAfter = new DateTimeOffset(root.NotAfter.ToUniversalTime()),
                    }, Json.Indented));
                }
                else
                {
                    Console.WriteLine($"Trusting root '{root.Subject}' (SHA-256 {config.Fingerprint}), valid until {root.NotAfter.ToUniversalTime():yyyy-MM-dd}.");
                    Console.WriteLine($"Saved {baseUrl}{(renewUrl is null ? "" : $" (renewal at {renewUrl})")} to {Path.GetFullPath(path)}.");
                }
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Hex, any case, with or without colons (or spaces): 32 bytes; anything else is a usage error.</summary>
    public static byte[] ParseFingerprint(string text)
    {
        var hex = new string(text.Where(c => c is not (':' or ' ' or '-')).ToArray());
        if (hex.Length != 64 || !hex.All(Uri.IsHexDigit))
        {
            throw CliException.Usage($"'{text}' is not a SHA-256 fingerprint; give 64 hexadecimal digits (colons allowed).");
        }
        return Convert.FromHexString(hex);
    }

    private static string Absolute(string text, string option) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri.GetLeftPart(UriPartial.Path).TrimEnd('/')
            : throw CliException.Usage($"{option} '{text}' is not an http or https URL.");
}
