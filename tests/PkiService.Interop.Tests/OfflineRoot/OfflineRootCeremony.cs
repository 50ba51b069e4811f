using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.OfflineRoot;

/// <summary>
/// An offline root made by plain openssl outside the service (the root, optionally an intermediate, each a directory
/// of files), and the service's <c>ca</c> commands run as real processes on a <see cref="ServiceProcess"/>'s data
/// directory before it starts.
/// </summary>
public sealed class OfflineRootCeremony(ServiceProcess service, Openssl openssl)
{
    /// <summary>RFC 5280 4.2.1.9 / 4.2.1.3: what the offline root writes into the issuing CA's certificate.</summary>
    public const string IssuingCaExtensions =
        "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";

    /// <summary><c>openssl req -x509</c>: a self-signed root CA, <c>&lt;name&gt;.key</c> and <c>&lt;name&gt;.crt</c>.</summary>
    public async Task CreateRootAsync(string name, string subject)
    {
        (await openssl.RunAsync("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes",
            "-keyout", $"{name}.key", "-out", $"{name}.crt", "-subj", subject, "-days", "3650",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")).EnsureSuccess();
    }

    /// <summary>An intermediate CA <c>&lt;name&gt;.key</c>/<c>.crt</c> signed by <paramref name="issuer"/> (pathlen 1: it certifies the issuing CA).</summary>
    public async Task CreateIntermediateAsync(string name, string subject, string issuer)
    {
        (await openssl.RunAsync("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes",
            "-keyout", $"{name}.key", "-out", $"{name}.csr", "-subj", subject)).EnsureSuccess();
        await File.WriteAllTextAsync(Path.Combine(openssl.WorkingDirectory, $"{name}.ext"), IssuingCaExtensions.Replace("pathlen:0", "pathlen:1", StringComparison.Ordinal));
        await SignAsync($"{name}.csr", issuer, $"{name}.ext", $"{name}.crt");
    }

    /// <summary><c>openssl x509 -req</c>: <paramref name="issuer"/> signs <paramref name="csr"/> with the extensions in <paramref name="extensionsFile"/>.</summary>
    public async Task SignAsync(string csr, string issuer, string extensionsFile, string certificate)
    {
        (await openssl.RunAsync("x509", "-req", "-in", csr, "-CA", $"{issuer}.crt", "-CAkey", $"{issuer}.key", "-set_serial", $"0x{Guid.NewGuid():N}",
            "-days", "1000", "-extfile", extensionsFile, "-out", certificate)).EnsureSuccess();
    }

    /// <summary><c>openssl ca -gencrl</c>: an empty CRL signed by <paramref name="issuer"/>, PEM.</summary>
    public async Task<string> CreateCrlAsync(string issuer, string crlFile, int crlNumber = 4096)
    {
        var directory = openssl.WorkingDirectory;
        await File.WriteAllTextAsync(Path.Combine(directory, $"{issuer}-index.txt"), "");
        await File.WriteAllTextAsync(Path.Combine(directory, $"{issuer}-crlnumber"), crlNumber.ToString("X4", System.Globalization.CultureInfo.InvariantCulture) + "\n");
        await File.WriteAllTextAsync(Path.Combine(directory, $"{issuer}-ca.cnf"),
            $"[ ca ]\ndefault_ca = CA_default\n[ CA_default ]\ndatabase = {issuer}-index.txt\ncrlnumber = {issuer}-crlnumber\ndefault_md = sha256\ndefault_crl_days = 30\n");
        (await openssl.RunAsync("ca", "-gencrl", "-config", $"{issuer}-ca.cnf", "-keyfile", $"{issuer}.key", "-cert", $"{issuer}.crt", "-out", crlFile)).EnsureSuccess();
        return await File.ReadAllTextAsync(Path.Combine(directory, crlFile));
    }

    /// <summary>
    /// <c>dotnet PkiService.Api.dll ca &lt;arguments&gt;</c> with the service's data directory and passphrase, in the
    /// openssl working directory (so file names are relative to it).
    /// </summary>
    public Task<CommandResult> RunCaAsync(params string[] arguments) =>
        ExternalCommand.RunAsync(ServiceProcess.DotnetHost(),
            [ServiceProcess.FindServiceAssembly(), "ca", .. arguments, $"--Pki:DataDirectory={service.DataDirectory}", $"--Pki:KeyPassphrase={ServiceProcess.KeyPassphrase}"],
            openssl.WorkingDirectory, TimeSpan.FromMinutes(2));
}
