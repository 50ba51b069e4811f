namespace PkiService.Interop.Tests.Infrastructure;

/// <summary>Keys made by openssl and certificates for them issued through the real service's enrollment API.</summary>
public static class ServiceCertificates
{
    /// <summary>
    /// Makes an EC P-256 key <c>&lt;name&gt;.key</c> and enrolls a client certificate for CN=<paramref name="name"/>,
    /// SAN <c>spiffe://example.org/&lt;name&gt;</c>, written as <c>&lt;name&gt;.pem</c> in openssl's working directory.
    /// </summary>
    public static async Task<EnrollmentResult> IssueClientAsync(PkiApiClient api, Openssl openssl, string name)
    {
        var spiffeId = $"spiffe://example.org/{name}";
        await openssl.GenerateKeyAsync(KeyType.EcP256, $"{name}.key");
        var csr = await openssl.CreateCsrAsync($"{name}.key", name, $"URI:{spiffeId}", $"{name}.csr");
        var token = await api.CreateEnrollmentTokenAsync(name, [spiffeId]);
        var issued = await api.EnrollAsync(token, csr);
        await File.WriteAllTextAsync(Path.Combine(openssl.WorkingDirectory, $"{name}.pem"), issued.Certificate);
        return issued;
    }

    /// <summary>
    /// Makes <c>&lt;name&gt;.key</c> and enrolls a server-profile certificate for localhost and 127.0.0.1, written as
    /// <c>&lt;name&gt;.pem</c>, and with the issuing CA appended (what a TLS server sends) as <c>&lt;name&gt;-fullchain.pem</c>.
    /// </summary>
    public static async Task<EnrollmentResult> IssueLocalhostServerAsync(PkiApiClient api, Openssl openssl, string name = "server")
    {
        await openssl.GenerateKeyAsync(KeyType.EcP256, $"{name}.key");
        var csr = await openssl.CreateCsrAsync($"{name}.key", "localhost", "DNS:localhost,IP:127.0.0.1", $"{name}.csr");
        var token = await api.CreateEnrollmentTokenAsync("localhost", ["localhost", "127.0.0.1"], profile: "server");
        var issued = await api.EnrollAsync(token, csr);
        await File.WriteAllTextAsync(Path.Combine(openssl.WorkingDirectory, $"{name}.pem"), issued.Certificate);
        var issuingCa = await api.GetTextAsync("pki/ca.pem");
        await File.WriteAllTextAsync(Path.Combine(openssl.WorkingDirectory, $"{name}-fullchain.pem"), issued.Certificate.TrimEnd() + "\n" + issuingCa);
        return issued;
    }

    /// <summary>Writes <c>root.pem</c>, <c>ca.pem</c> (the issuing CA) and <c>chain.pem</c> (both) into <paramref name="directory"/>.</summary>
    public static async Task WriteCaFilesAsync(PkiApiClient api, string directory)
    {
        await File.WriteAllTextAsync(Path.Combine(directory, "root.pem"), await api.GetTextAsync("pki/root.pem"));
        await File.WriteAllTextAsync(Path.Combine(directory, "ca.pem"), await api.GetTextAsync("pki/ca.pem"));
        await File.WriteAllTextAsync(Path.Combine(directory, "chain.pem"), await api.GetTextAsync("pki/chain.pem"));
    }
}
