using System.CommandLine;
using System.Text.Json;
using PkiService.Cli.Crypto;
using PkiService.Cli.Infrastructure;

namespace PkiService.Cli.Commands;

/// <summary>
/// <c>pki enroll --token T --name N [--san ...] [--key-type ...] [--validity P..] --cert F --key F</c>: makes the key
/// here (it never leaves the machine), sends only the CSR, checks that the answer certifies that key and chains to the
/// saved root, then writes both files atomically (key 0600).
/// </summary>
public static class EnrollCommand
{
    /// <summary>Where the token can come from instead of the command line (which other users may see in ps).</summary>
    public const string TokenVariable = "PKI_TOKEN";

    public static Command Create()
    {
        var token = new Option<string?>("--token") { Description = $"The one-time enrollment token (or set {TokenVariable})." };
        var name = new Option<string>("--name") { Description = "The certificate's common name (the token must allow it).", Required = true };
        var sans = new Option<string[]>("--san")
        {
            Description = "A subject alternative name (DNS name, IP, URI or e-mail); repeat for more.",
            AllowMultipleArgumentsPerToken = true,
        };
        var keyType = new Option<string>("--key-type") { Description = "The key to make.", DefaultValueFactory = _ => "p256" };
        keyType.AcceptOnlyFromAmong(KeyTypes.Names);
        var validity = new Option<string?>("--validity") { Description = "Requested lifetime, ISO 8601 (P90D, PT2H); capped by the service." };
        var cert = new Option<string>("--cert") { Description = "Where to write the certificate (PEM, followed by the issuing CA).", Required = true };
        var key = new Option<string>("--key") { Description = "Where to write the private key (PEM PKCS#8, mode 0600).", Required = true };
        var json = PkiCommands.Json();
        var command = new Command("enroll", "Make a key, enroll it with a one-time token, and write the certificate and key.")
        {
            token, name, sans, keyType, validity, cert, key, json,
        };
        command.SetCliAction(async (parse, cancellationToken) =>
        {
            var secret = parse.GetValue(token) ?? Environment.GetEnvironmentVariable(TokenVariable);
            if (string.IsNullOrWhiteSpace(secret))
            {
                throw CliException.Usage($"Give the enrollment token with --token or {TokenVariable}.");
            }
            var requested = parse.GetValue(validity);
            CheckDuration(requested, "--validity");
            var config = CliConfig.Load(parse.GetValue(PkiCommands.Config));
            using var root = config.RootCertificate();

            using var pair = KeyPair.Generate(KeyTypes.Parse(parse.GetRequiredValue(keyType)));
            var csr = pair.CreateCsrPem(parse.GetRequiredValue(name), parse.GetValue(sans) ?? []);
            using var http = PkiHttp.Create(config.ServiceBase, root);
            var response = await PkiHttp.PostJsonAsync(http, "api/v1/enroll", new { csr, validity = requested }, cancellationToken, bearer: secret);
            var issued = await PkiHttp.ReadJsonAsync<IssuedCertificate>(response, cancellationToken);
            issued.Verify(pair, root);

            CertificatePair.Write(parse.GetRequiredValue(cert), parse.GetRequiredValue(key), issued, pair);
            Report(issued, parse.GetValue(json), "Enrolled");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Prints what was issued (never the token, never the key).</summary>
    public static void Report(IssuedCertificate issued, bool json, string verb)
    {
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(
                new { issued.SerialNumber, issued.NotBefore, issued.NotAfter, issued.RenewAfter }, Json.Indented));
            return;
        }
        Console.WriteLine($"{verb} {issued.SerialNumber}, valid {issued.NotBefore:u} to {issued.NotAfter:u}"
            + (issued.RenewAfter is { } after ? $", renew after {after:u}." : "."));
    }

    public static void CheckDuration(string? text, string option)
    {
        if (text is null)
        {
            return;
        }
        try
        {
            if (text.StartsWith('P') && System.Xml.XmlConvert.ToTimeSpan(text) > TimeSpan.Zero)
            {
                return;
            }
        }
        catch (FormatException)
        {
            // reported below
        }
        catch (OverflowException)
        {
            // reported below
        }
        throw CliException.Usage($"{option} '{text}' is not an ISO 8601 duration such as P90D, PT2H or PT2M.");
    }
}

/// <summary>The certificate file (leaf then issuing CA) and its key file, always replaced together.</summary>
public static class CertificatePair
{
    /// <summary>
    /// Writes both temporary files completely, then renames the key and at once the certificate over the old ones.
    /// Called only after the new pair verified: a failure before this point leaves the old files untouched.
    /// </summary>
    public static void Write(string certPath, string keyPath, IssuedCertificate issued, KeyPair pair)
    {
        var certificateText = issued.Certificate.TrimEnd() + "\n" + IntermediatesPem(issued.Chain);
        var key = AtomicFile.Prepare(keyPath, pair.PrivateKeyPem(), AtomicFile.Private);
        PreparedFile certificate;
        try
        {
            certificate = AtomicFile.Prepare(certPath, certificateText, AtomicFile.Public);
        }
        catch
        {
            File.Delete(key.TemporaryPath);
            throw;
        }
        AtomicFile.Commit([key, certificate]);
    }

    /// <summary>The chain without the self-signed root: what a TLS peer needs next to the leaf.</summary>
    private static string IntermediatesPem(string chainPem)
    {
        var chain = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        chain.ImportFromPem(chainPem);
        var text = new System.Text.StringBuilder();
        foreach (var certificate in chain)
        {
            if (!certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData))
            {
                text.Append(certificate.ExportCertificatePem()).Append('\n');
            }
            certificate.Dispose();
        }
        return text.ToString();
    }
}
