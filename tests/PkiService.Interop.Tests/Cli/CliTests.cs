using System.Security.Cryptography;
using System.Text.Json;
using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Cli;

/// <summary>
/// The <c>pki</c> tool as a real process against the real started service: bootstrap, enroll for each key type (checked
/// with openssl), renew over mTLS, status → revoke → status, the admin commands, and every exit code
/// (0 ok, 1 refused, 2 usage, 3 network or trust).
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class CliTests(ServiceProcess service) : IDisposable
{
    private readonly TempDirectory _work = new("pki-cli-");

    public void Dispose() => _work.Dispose();

    private PkiCli Cli => new(_work);

    [Fact]
    public async Task Bootstrap_FingerprintUppercaseWithColons_SavesUrlAndRootWithMode0600()
    {
        var root = await service.Api.Http.GetByteArrayAsync("pki/root.crt");
        var fingerprint = string.Join(':', Convert.ToHexString(SHA256.HashData(root)).Chunk(2).Select(c => new string(c)));

        var result = await Cli.RunAsync("bootstrap", "--url", service.PublicBaseUrl, "--fingerprint", fingerprint, "--mtls-url", service.MtlsAddress.ToString());

        Assert.True(result.ExitCode == 0, result.ToString());
        var config = JsonDocument.Parse(await File.ReadAllTextAsync(Cli.ConfigPath)).RootElement;
        Assert.Equal(service.PublicBaseUrl, config.GetProperty("url").GetString());
        Assert.Equal(service.MtlsAddress.ToString().TrimEnd('/'), config.GetProperty("mtlsUrl").GetString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(root)), config.GetProperty("fingerprint").GetString());
        using var saved = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(config.GetProperty("root").GetString());
        Assert.Equal(root, saved.RawData);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, ModeOf(Cli.ConfigPath));
    }

    [Fact]
    public async Task Bootstrap_WithoutConfigOption_SavesUnderHomeConfigPki()
    {
        var root = await service.Api.Http.GetByteArrayAsync("pki/root.crt");
        var result = await ExternalCommand.RunAsync(ServiceProcess.DotnetHost(),
            [PkiCli.FindAssembly(), "bootstrap", "--url", service.PublicBaseUrl, "--fingerprint", Convert.ToHexStringLower(SHA256.HashData(root))],
            _work.Path, environment: new Dictionary<string, string?> { ["HOME"] = _work.Path });

        Assert.True(result.ExitCode == 0, result.ToString());
        var path = Path.Combine(_work.Path, ".config", "pki", "config.json");
        Assert.True(File.Exists(path), result.ToString());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, ModeOf(path));
        Assert.False(JsonDocument.Parse(await File.ReadAllTextAsync(path)).RootElement.TryGetProperty("mtlsUrl", out var m) && m.ValueKind != JsonValueKind.Null);
    }

    [Fact]
    public async Task Bootstrap_WrongFingerprint_Exits3AndSavesNothing()
    {
        var root = await service.Api.Http.GetByteArrayAsync("pki/root.crt");
        var wrong = SHA256.HashData(root);
        wrong[0] ^= 0xFF;

        var result = await Cli.RunAsync("bootstrap", "--url", service.PublicBaseUrl, "--fingerprint", Convert.ToHexString(wrong));

        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains("fingerprint", result.StandardError);
        Assert.Single(result.StandardError.Trim().Split('\n'));
        Assert.False(File.Exists(Cli.ConfigPath));
    }

    [SkippableTheory]
    [InlineData("p256", "id-ecPublicKey", "prime256v1")]
    [InlineData("p384", "id-ecPublicKey", "secp384r1")]
    [InlineData("rsa2048", "rsaEncryption", "2048 bit")]
    [InlineData("ed25519", "ED25519", "ED25519")]
    public async Task Enroll_KeyType_CertificateVerifiesWithOpensslAndKeyIsPrivate(string keyType, string algorithm, string detail)
    {
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        await Cli.BootstrapAsync(service);
        var name = $"cli-{keyType}-{Guid.NewGuid():N}"[..24];
        var token = await service.Api.CreateEnrollmentTokenAsync(name, [$"{name}.example.org"]);

        var result = await Cli.RunAsync("enroll", "--token", token, "--name", name, "--san", $"{name}.example.org",
            "--key-type", keyType, "--cert", "leaf.pem", "--key", "leaf.key");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain(token, result.StandardOutput + result.StandardError);
        await File.WriteAllBytesAsync(_work.File("root.pem"), await service.Api.Http.GetByteArrayAsync("pki/root.pem"));
        // The certificate file is the leaf then the issuing CA: openssl takes the CA from it as untrusted.
        var verify = await openssl.RunAsync("verify", "-CAfile", "root.pem", "-untrusted", "leaf.pem", "leaf.pem");
        Assert.True(verify.ExitCode == 0 && verify.StandardOutput.Contains("leaf.pem: OK"), verify.ToString());
        var text = await openssl.TextAsync("leaf.pem");
        Assert.Contains(algorithm, text);
        Assert.Contains(detail, text);
        Assert.Contains($"DNS:{name}.example.org", text);
        var certificateKey = (await openssl.RunAsync("x509", "-in", "leaf.pem", "-noout", "-pubkey")).EnsureSuccess().StandardOutput;
        var privateKey = (await openssl.RunAsync("pkey", "-in", "leaf.key", "-pubout")).EnsureSuccess().StandardOutput;
        Assert.Equal(privateKey, certificateKey);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, ModeOf(_work.File("leaf.key")));
        Assert.Empty(Directory.GetFiles(_work.Path, "*.tmp", SearchOption.AllDirectories).Concat(Directory.GetFiles(_work.Path, ".*.tmp")));
    }

    [SkippableFact]
    public async Task Renew_OnceOverMtls_NewKeyNewCertificateOldSupersededAndExecRuns()
    {
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        await Cli.BootstrapAsync(service);
        var (serial, _) = await EnrollAsync("cli-renew", "rsa2048");
        var oldKey = await File.ReadAllTextAsync(_work.File("leaf.key"));

        var result = await Cli.RunAsync("renew", "--cert", "leaf.pem", "--key", "leaf.key", "--json", "--exec", "echo ran > hook.txt");

        Assert.True(result.ExitCode == 0, result.ToString());
        var renewed = JsonDocument.Parse(result.StandardOutput[..(result.StandardOutput.LastIndexOf('}') + 1)]).RootElement;
        var newSerial = renewed.GetProperty("serialNumber").GetString()!;
        Assert.NotEqual(serial, newSerial);
        Assert.NotEqual(oldKey, await File.ReadAllTextAsync(_work.File("leaf.key")));
        Assert.Equal("superseded", await service.Api.GetStatusAsync(serial));
        Assert.Equal("active", await service.Api.GetStatusAsync(newSerial));
        Assert.Equal("ran", (await File.ReadAllTextAsync(_work.File("hook.txt"))).Trim());
        var certificateKey = (await openssl.RunAsync("x509", "-in", "leaf.pem", "-noout", "-pubkey")).EnsureSuccess().StandardOutput;
        var privateKey = (await openssl.RunAsync("pkey", "-in", "leaf.key", "-pubout")).EnsureSuccess().StandardOutput;
        Assert.Equal(privateKey, certificateKey);
        Assert.Contains(newSerial, (await openssl.RunAsync("x509", "-in", "leaf.pem", "-noout", "-serial")).StandardOutput);

        // A pair that has been renewed is superseded: renewing it again is refused (exit 1) and its files stay as they are.
        File.Copy(_work.File("leaf.pem"), _work.File("old.pem"));
        File.Copy(_work.File("leaf.key"), _work.File("old.key"));
        (await Cli.RunAsync("renew", "--cert", "leaf.pem", "--key", "leaf.key")).EnsureSuccess();
        var before = await File.ReadAllTextAsync(_work.File("old.pem"));
        var replay = await Cli.RunAsync("renew", "--cert", "old.pem", "--key", "old.key");
        Assert.True(replay.ExitCode == 1, replay.ToString());
        Assert.Contains("HTTP 401", replay.StandardError);
        Assert.Equal(before, await File.ReadAllTextAsync(_work.File("old.pem")));
    }

    [SkippableFact]
    public async Task Status_GoodThenRevokeThenRevoked_Exits0Then1()
    {
        await Cli.BootstrapAsync(service);
        var (serial, _) = await EnrollAsync("cli-status", "p256");

        var good = await Cli.RunAsync("status", "--cert", "leaf.pem", "--crl");
        Assert.True(good.ExitCode == 0, good.ToString());
        Assert.StartsWith("good", good.StandardOutput);
        Assert.Contains("ocsp: good", good.StandardOutput);
        Assert.Contains("crl: good", good.StandardOutput);

        var revoke = await Cli.RunAsync(["revoke", serial, "--reason", "keyCompromise"], ServiceProcess.AdminApiKey);
        Assert.True(revoke.ExitCode == 0, revoke.ToString());
        Assert.Contains(serial, revoke.StandardOutput);
        Assert.DoesNotContain(ServiceProcess.AdminApiKey, revoke.StandardOutput + revoke.StandardError);

        var revoked = await Cli.RunAsync("status", "--cert", "leaf.pem", "--crl");
        Assert.True(revoked.ExitCode == 1, revoked.ToString());
        Assert.StartsWith("revoked: keyCompromise", revoked.StandardOutput);
        Assert.Contains("ocsp: revoked (keyCompromise", revoked.StandardOutput);
        Assert.Contains("crl: revoked (keyCompromise", revoked.StandardOutput);

        var json = await Cli.RunAsync("status", "--cert", "leaf.pem", "--json");
        Assert.Equal(1, json.ExitCode);
        var answer = JsonDocument.Parse(json.StandardOutput).RootElement;
        Assert.Equal("revoked", answer.GetProperty("status").GetString());
        Assert.Equal(serial, answer.GetProperty("serialNumber").GetString());
        Assert.Equal("keyCompromise", answer.GetProperty("answers")[0].GetProperty("reason").GetString());
        Assert.Equal("revoked", await service.Api.GetStatusAsync(serial));
    }

    [SkippableFact]
    public async Task Admin_TokenCreateThenEnrollThenListAndAuditVerify()
    {
        await Cli.BootstrapAsync(service);
        var name = $"cli-admin-{Guid.NewGuid():N}"[..20];
        var created = await Cli.RunAsync(["token", "create", "--name", name, "--san", $"{name}.example.org", "--ttl", "PT10M"], ServiceProcess.AdminApiKey);
        Assert.True(created.ExitCode == 0, created.ToString());
        var token = created.StandardOutput.Trim();
        Assert.StartsWith("pki_et_", token);
        Assert.DoesNotContain(ServiceProcess.AdminApiKey, created.StandardOutput + created.StandardError);

        // The token from the environment (not on the command line, where ps shows it).
        var enroll = await Cli.RunAsync(["enroll", "--name", name, "--san", $"{name}.example.org", "--cert", "leaf.pem", "--key", "leaf.key", "--json"],
            environment: new Dictionary<string, string?> { ["PKI_TOKEN"] = token });
        Assert.True(enroll.ExitCode == 0, enroll.ToString());
        var serial = JsonDocument.Parse(enroll.StandardOutput).RootElement.GetProperty("serialNumber").GetString()!;

        var table = await Cli.RunAsync(["certs", "list", "--status", "active", "--expiring", "P365D"], ServiceProcess.AdminApiKey);
        Assert.True(table.ExitCode == 0, table.ToString());
        var lines = table.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("SERIAL", lines[0]);
        var row = Assert.Single(lines, l => l.StartsWith(serial, StringComparison.Ordinal));
        Assert.Contains($"CN={name}", row);
        // Aligned: every column starts at the same offset on every line.
        Assert.Equal(lines[0].IndexOf("STATUS", StringComparison.Ordinal), row.IndexOf("active", StringComparison.Ordinal));
        Assert.Equal(lines[0].IndexOf("SUBJECT", StringComparison.Ordinal), row.IndexOf("CN=", StringComparison.Ordinal));

        var listed = await Cli.RunAsync(["certs", "list", "--json"], ServiceProcess.AdminApiKey);
        Assert.True(listed.ExitCode == 0, listed.ToString());
        var item = JsonDocument.Parse(listed.StandardOutput).RootElement.EnumerateArray().Single(i => i.GetProperty("serialNumber").GetString() == serial);
        Assert.Equal("active", item.GetProperty("status").GetString());

        var revoked = await Cli.RunAsync(["certs", "list", "--status", "revoked", "--json"], ServiceProcess.AdminApiKey);
        Assert.DoesNotContain(JsonDocument.Parse(revoked.StandardOutput).RootElement.EnumerateArray(), i => i.GetProperty("serialNumber").GetString() == serial);

        var audit = await Cli.RunAsync(["audit", "verify"], ServiceProcess.AdminApiKey);
        Assert.True(audit.ExitCode == 0, audit.ToString());
        Assert.StartsWith("valid: ", audit.StandardOutput);
        var auditJson = await Cli.RunAsync(["audit", "verify", "--json"], ServiceProcess.AdminApiKey);
        Assert.True(JsonDocument.Parse(auditJson.StandardOutput).RootElement.GetProperty("valid").GetBoolean(), auditJson.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("no-such-command")]
    [InlineData("enroll|--token|t|--name|n")]
    [InlineData("enroll|--token|t|--name|n|--cert|c|--key|k|--key-type|dsa1024")]
    [InlineData("enroll|--token|t|--name|n|--cert|c|--key|k|--validity|90 days")]
    [InlineData("bootstrap|--url|http://127.0.0.1:1|--fingerprint|not-hex")]
    [InlineData("bootstrap|--url|ftp://example.org|--fingerprint|00")]
    [InlineData("revoke|01|--reason|bored")]
    [InlineData("renew|--cert|missing.pem|--key|missing.key")]
    [InlineData("status|--cert|leaf.pem|--bogus")]
    public async Task Usage_BadCommandLine_Exits2(string commandLine)
    {
        await Cli.BootstrapAsync(service);

        var result = await Cli.RunAsync(commandLine.Split('|', StringSplitOptions.RemoveEmptyEntries));

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.NotEmpty(result.StandardError.Trim());
        Assert.DoesNotContain("   at ", result.StandardError); // a message, not a stack trace
    }

    [Fact]
    public async Task Usage_AdminWithoutApiKey_Exits2AndNamesTheVariable()
    {
        await Cli.BootstrapAsync(service);

        var result = await Cli.RunAsync("certs", "list");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("PKI_API_KEY", result.StandardError);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("bootstrap --help")]
    [InlineData("enroll --help")]
    [InlineData("renew --help")]
    [InlineData("status --help")]
    [InlineData("token create --help")]
    [InlineData("certs list --help")]
    [InlineData("revoke --help")]
    [InlineData("audit verify --help")]
    public async Task Help_EveryCommand_Exits0WithUsage(string arguments)
    {
        var result = await Cli.RunAsync(arguments.Split(' '));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Usage:", result.StandardOutput);
    }

    [Fact]
    public async Task Network_UnreachableUrl_Exits3()
    {
        var closed = $"http://127.0.0.1:{Network.FreeLoopbackPort()}";

        var bootstrap = await Cli.RunAsync("bootstrap", "--url", closed, "--fingerprint", new string('a', 64));
        Assert.True(bootstrap.ExitCode == 3, bootstrap.ToString());
        Assert.Single(bootstrap.StandardError.Trim().Split('\n'));

        // A saved configuration whose service has gone away: enroll cannot reach it either.
        await Cli.BootstrapAsync(service);
        var config = JsonSerializer.Deserialize<Dictionary<string, string?>>(await File.ReadAllTextAsync(Cli.ConfigPath))!;
        config["url"] = closed;
        await File.WriteAllTextAsync(Cli.ConfigPath, JsonSerializer.Serialize(config));
        var enroll = await Cli.RunAsync("enroll", "--token", "pki_et_whatever", "--name", "n", "--cert", "leaf.pem", "--key", "leaf.key");
        Assert.True(enroll.ExitCode == 3, enroll.ToString());
        Assert.False(File.Exists(_work.File("leaf.key")));
    }

    [Fact]
    public async Task Trust_MtlsListenerNotUnderSavedRoot_Exits3()
    {
        // The saved root is a stranger's: the mTLS listener's certificate (from our CA) does not chain to it.
        await Cli.BootstrapAsync(service);
        await EnrollAsync("cli-trust", "p256");
        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var foreignRoot = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=Stranger Root", stranger, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var config = JsonSerializer.Deserialize<Dictionary<string, string?>>(await File.ReadAllTextAsync(Cli.ConfigPath))!;
        config["root"] = foreignRoot.ExportCertificatePem();
        await File.WriteAllTextAsync(Cli.ConfigPath, JsonSerializer.Serialize(config));
        var before = await File.ReadAllTextAsync(_work.File("leaf.pem"));

        var result = await Cli.RunAsync("renew", "--cert", "leaf.pem", "--key", "leaf.key");

        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains("root", result.StandardError);
        Assert.Equal(before, await File.ReadAllTextAsync(_work.File("leaf.pem")));
    }

    [Fact]
    public async Task Refused_UsedOrBogusTokenAndBadApiKey_Exit1WithProblemTitleAndNoSecret()
    {
        await Cli.BootstrapAsync(service);
        const string bogus = "pki_et_this-token-does-not-exist-0123456789";

        var enroll = await Cli.RunAsync("enroll", "--token", bogus, "--name", "cli-refused", "--cert", "leaf.pem", "--key", "leaf.key");

        Assert.True(enroll.ExitCode == 1, enroll.ToString());
        var line = Assert.Single(enroll.StandardError.Trim().Split('\n'));
        Assert.Contains("HTTP 401", line);
        Assert.DoesNotContain(bogus, enroll.StandardOutput + enroll.StandardError);
        Assert.False(File.Exists(_work.File("leaf.key")), "a refused enrollment writes no key");

        const string wrongKey = "pki_ak_not-a-key-of-this-service-0123456789";
        var list = await Cli.RunAsync(["certs", "list"], wrongKey);
        Assert.True(list.ExitCode == 1, list.ToString());
        Assert.Contains("HTTP 401", list.StandardError);
        Assert.DoesNotContain(wrongKey, list.StandardOutput + list.StandardError);

        var revoke = await Cli.RunAsync(["revoke", "0BADC0FFEE", "--reason", "superseded"], ServiceProcess.AdminApiKey);
        Assert.True(revoke.ExitCode == 1, revoke.ToString());
        Assert.Contains("HTTP 404: No certificate with serial number", revoke.StandardError);
    }

    private static UnixFileMode ModeOf(string path) =>
        OperatingSystem.IsWindows() ? throw new PlatformNotSupportedException("file modes are POSIX") : File.GetUnixFileMode(path);

    /// <summary>A token from the API, then <c>pki enroll</c> into leaf.pem / leaf.key; returns the serial.</summary>
    private async Task<(string Serial, string Name)> EnrollAsync(string prefix, string keyType, string? validity = null)
    {
        var name = $"{prefix}-{Guid.NewGuid():N}"[..24];
        var token = await service.Api.CreateEnrollmentTokenAsync(name, [$"{name}.example.org"]);
        string[] arguments = ["enroll", "--token", token, "--name", name, "--san", $"{name}.example.org", "--key-type", keyType,
            "--cert", "leaf.pem", "--key", "leaf.key", "--json", .. validity is null ? Array.Empty<string>() : ["--validity", validity]];
        var result = (await Cli.RunAsync(arguments)).EnsureSuccess();
        return (JsonDocument.Parse(result.StandardOutput).RootElement.GetProperty("serialNumber").GetString()!, name);
    }
}
