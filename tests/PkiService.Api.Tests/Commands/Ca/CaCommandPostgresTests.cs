using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using PkiService.Api.Commands.Ca;
using PkiService.Api.Tests.Features.RootCrl;
using PkiService.Api.Tests.Support;
using PkiService.Core.Authorities;

namespace PkiService.Api.Tests.Commands.Ca;

/// <summary>
/// The offline-root ceremony on a cluster (<c>Database:Provider=Postgres</c>): the <c>ca</c> commands run against the
/// still empty shared database (schema applied by the command), the issuing key lands encrypted in the database, and
/// every node then serves the external chain; a root CRL uploaded on one node is served by the others at once.
/// </summary>
public sealed class CaCommandPostgresTests : IDisposable
{
    private readonly string _work = TempDirectory.Create();

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [SkippableFact]
    public async Task InitAndInstallIssuing_OnSharedDatabase_EveryNodeIssuesUnderTheRootAndServesTheUploadedRootCrl()
    {
        var firstDirectory = TempDirectory.Create();
        var settings = TestDatabase.Postgres.Settings(firstDirectory);
        using var root = ExternalRoot.SelfSigned("CN=Cluster Offline Root, O=Example", pathLength: null);
        var csrPath = Path.Combine(_work, "issuing.csr");

        Assert.Equal(0, Run(firstDirectory, settings, "init-issuing", "--csr", csrPath));
        await File.WriteAllTextAsync(Path.Combine(_work, "issuing.crt"), CaCommandPkcs11Tests.Sign(root, await File.ReadAllTextAsync(csrPath)));
        await File.WriteAllTextAsync(Path.Combine(_work, "root.crt"), root.ExportCertificatePem());
        Assert.Equal(0, Run(firstDirectory, settings, "install-issuing", "--cert", Path.Combine(_work, "issuing.crt"), "--chain", Path.Combine(_work, "root.crt")));
        Assert.Empty(Directory.GetFiles(firstDirectory, "*-ca.key")); // the CA keys of a cluster live in the database

        using var first = new PkiApiFactory(firstDirectory, database: TestDatabase.Postgres);
        using var second = new PkiApiFactory(database: TestDatabase.Postgres, databaseOf: firstDirectory);
        foreach (var node in new[] { first, second })
        {
            var hierarchy = node.Services.GetRequiredService<CaHierarchy>();
            Assert.True(hierarchy.IsRootExternal);
            Assert.Equal(root.RawData, hierarchy.Root.Der);
        }
        Assert.Equal(1L, await ScalarAsync(firstDirectory, "SELECT count(*) FROM \"CaKeys\" WHERE \"Name\" = 'issuing-ca'"));
        Assert.Equal(0L, await ScalarAsync(firstDirectory, "SELECT count(*) FROM \"CaKeys\" WHERE \"Name\" = 'root-ca'"));

        var token = await first.CreateTokenAsync("cluster-client");
        using var enrolled = await second.EnrollAsync(token, Csrs.P256("cluster-client"));
        Assert.Equal(HttpStatusCode.Created, enrolled.StatusCode);
        var body = (await enrolled.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!;
        ExternalRoot.AssertChainsTo(root, body.Certificate, body.Chain);

        // The upload on the first node reaches the second through the database's announcement, not at its next poll.
        using var secondClient = second.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await secondClient.GetAsync("/pki/root.crl")).StatusCode);
        var crl = ExternalRoot.Crl(root, 3, DateTimeOffset.UtcNow.AddDays(30));
        using (var admin = first.CreateAdminClient())
        using (var content = new ByteArrayContent(crl))
        {
            content.Headers.ContentType = new MediaTypeHeaderValue("application/pkix-crl");
            using var uploaded = await admin.PutAsync("/api/v1/root-crl", content);
            Assert.Equal(HttpStatusCode.OK, uploaded.StatusCode);
        }
        var deadline = DateTime.UtcNow.AddSeconds(1);
        HttpStatusCode status;
        while ((status = (await secondClient.GetAsync("/pki/root.crl")).StatusCode) != HttpStatusCode.OK && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(crl, await secondClient.GetByteArrayAsync("/pki/root.crl"));
        Assert.Contains(PemEncoding.WriteString("X509 CRL", crl), await secondClient.GetStringAsync("/pki/crl-bundle.pem"), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void InitIssuing_UnreachableDatabase_ExitsOneNamingTheConnectionString()
    {
        var directory = TempDirectory.Create();
        using var error = new StringWriter();

        var exitCode = CaCommand.Run(
            ["ca", "init-issuing", "--csr", Path.Combine(_work, "issuing.csr"), $"--Pki:DataDirectory={directory}",
                $"--Pki:KeyPassphrase={PkiApiFactory.Passphrase}", "--Database:Provider=Postgres",
                "--ConnectionStrings:Pki=Host=127.0.0.1;Port=1;Database=none;Username=none;Timeout=2"],
            TextWriter.Null, error);

        Assert.Equal(CaCommandExitCodes.Configuration, exitCode);
        Assert.Contains("ConnectionStrings:Pki", error.ToString(), StringComparison.Ordinal);
        Assert.Single(error.ToString().Trim().Split('\n'));
        Assert.False(File.Exists(Path.Combine(_work, "issuing.csr")));
    }

    private static int Run(string dataDirectory, IReadOnlyDictionary<string, string?> settings, params string[] arguments)
    {
        using var error = new StringWriter();
        var exitCode = CaCommand.Run(
            ["ca", .. arguments, $"--Pki:DataDirectory={dataDirectory}", $"--Pki:KeyPassphrase={PkiApiFactory.Passphrase}",
                "--Pki:KeyEncryptionIterations=1000", .. settings.Select(s => $"--{s.Key}={s.Value}")],
            TextWriter.Null, error);
        Assert.True(exitCode == 0, $"exit {exitCode}: {error}");
        return exitCode;
    }

    private static async Task<long> ScalarAsync(string dataDirectory, string sql)
    {
        await using var connection = TestDatabase.Postgres.Open(dataDirectory);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
