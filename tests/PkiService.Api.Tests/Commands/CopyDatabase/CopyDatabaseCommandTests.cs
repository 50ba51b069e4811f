using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.X509;
using Microsoft.Data.Sqlite;
using Npgsql;
using PkiService.Api.Tests.Support;
using PkiService.Core.Audit;

namespace PkiService.Api.Tests.Commands.CopyDatabase;

/// <summary>
/// <c>dotnet PkiService.Api.dll copy-database --to ...</c>, run as a real process on a stopped SQLite deployment
/// (<see cref="SqliteDeployment"/>), into databases on the test PostgreSQL cluster.
/// </summary>
public sealed class CopyDatabaseCommandTests(SqliteDeployment deployment) : IClassFixture<SqliteDeployment>
{
    /// <summary>Put in every target connection string: the cluster trusts local logins, so it is never sent, and must never be printed.</summary>
    private const string Password = "copy-target-password-never-printed";

    private static readonly string[] CopiedTables = ["Certificates", "EnrollmentTokens", "ApiKeys", "ExpiryNotifications", "CrlNumbers", "AuditEvents"];

    [SkippableFact]
    public async Task CopyDatabase_IntoEmptyDatabase_CopiesEveryTableAndTheAuditTrailVerifies()
    {
        var target = await NewDatabaseAsync();

        var result = await CopyAsync(target);

        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (var table in CopiedTables)
        {
            // The target's audit trail has one row more: the copy's own.
            var expected = deployment.Count(table) + (table == "AuditEvents" ? 1 : 0);
            Assert.Equal(expected, await CountAsync(target, table));
            Assert.Matches($@"(?m)^\s*{table}\s+{expected}\s*$", result.Output);
        }
        Assert.Equal(SqliteDeployment.Certificates + SqliteDeployment.Expiring, await CountAsync(target, "Certificates"));
        Assert.Equal(deployment.Serials.Count(s => s.Value), await CountAsync(target, "Certificates", "\"Status\" = 'Revoked' AND \"RevokedAt\" IS NOT NULL AND \"RevocationReason\" IS NOT NULL"));
        // A warning for each expiring certificate that is still active (the revoked ones, chosen by serial, get none).
        Assert.True(await CountAsync(target, "ExpiryNotifications") >= deployment.ExpiringSerials.Count(s => !deployment.Serials[s]));
        Assert.True(await CountAsync(target, "EnrollmentTokens", "\"UsedAt\" IS NULL") >= SqliteDeployment.UnusedTokens);
        // What a node rebuilds or keeps for itself is not copied.
        Assert.Equal(0, await CountAsync(target, "PublishedCrls"));
        Assert.Equal(0, await CountAsync(target, "Leases"));

        // The CA and OCSP responder certificates and keys: exactly the bytes of the PEM files.
        var caKeys = await CaKeysAsync(target);
        Assert.Equal(["issuing-ca", "issuing-ca-ocsp", "root-ca", "root-ca-ocsp"], caKeys.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, (certificate, key)) in caKeys)
        {
            Assert.Equal(PemFile(name + ".crt", "CERTIFICATE"), certificate);
            Assert.Equal(PemFile(name + ".key", "ENCRYPTED PRIVATE KEY"), key);
        }
        Assert.Equal(deployment.RootDer, caKeys["root-ca"].Certificate);
        Assert.Equal(deployment.IssuingDer, caKeys["issuing-ca"].Certificate);
        // The seal marker file becomes the row a node on a shared database would have written: its first line.
        Assert.Equal(File.ReadLines(Path.Combine(deployment.DataDirectory, "audit-mac-sealed")).First(),
            await ScalarAsync<string>(target, "SELECT \"Value\" FROM \"ServiceState\" WHERE \"Key\" = 'audit-mac-sealed'"));

        // The copied chain ends where the old node's did, the command verified it on the target, then recorded the copy.
        Assert.Equal(deployment.Audit.LastHash, await ScalarAsync<string>(target, $"SELECT encode(\"Hash\", 'hex') FROM \"AuditEvents\" WHERE \"Id\" = {deployment.Audit.LastId}"));
        Assert.Contains($"rows 1-{deployment.Audit.LastId}, last hash {deployment.Audit.LastHash}", result.Output, StringComparison.Ordinal);
        Assert.Equal(1, await CountAsync(target, "AuditEvents", $"\"Id\" = {deployment.Audit.LastId + 1} AND \"Action\" = 'database.copy' AND \"Mac\" IS NOT NULL"));

        // New rows get ids above the copied ones.
        foreach (var table in new[] { "Certificates", "ExpiryNotifications" })
        {
            var max = await ScalarAsync<long>(target, $"SELECT max(\"Id\") FROM \"{table}\"");
            Assert.True(await ScalarAsync<long>(target, $"SELECT nextval(pg_get_serial_sequence('\"{table}\"', 'Id'))") > max, table);
        }
        Assert.DoesNotContain(Password, result.Output + result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(PkiApiFactory.Passphrase, result.Output + result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("ENCRYPTED PRIVATE KEY", result.Output + result.Error, StringComparison.Ordinal);
    }

    /// <summary>
    /// The point of the copy: a PostgreSQL node with a fresh data directory, on the copied database, is the old node's
    /// CA: same CA certificates, the same answer for every certificate (OCSP and CRL), CRL numbers that go on from the
    /// old node's, an audit trail that verifies, and the old node's API keys.
    /// </summary>
    [SkippableFact]
    public async Task CopyDatabase_NodeOnTheCopy_ServesTheSameCaRevocationsAndApiKeys()
    {
        var target = await NewDatabaseAsync();
        var copy = await CopyAsync(target);
        Assert.True(copy.ExitCode == 0, copy.ToString());

        using var node = new PkiApiFactory(database: TestDatabase.Postgres,
            settings: new Dictionary<string, string?> { ["ConnectionStrings:Pki"] = target });
        using var client = node.CreateClient();

        Assert.Equal(deployment.RootDer, await client.GetByteArrayAsync("/pki/root.crt"));
        Assert.Equal(deployment.IssuingDer, await client.GetByteArrayAsync("/pki/ca.crt"));
        var issuer = OcspClient.Parse(deployment.IssuingDer);
        foreach (var (serial, revoked) in deployment.Serials)
        {
            using var response = await OcspClient.PostAsync(client, OcspClient.Request(issuer, serial));
            var status = OcspClient.StatusOf(await response.Content.ReadAsByteArrayAsync());
            Assert.True(revoked ? status.StartsWith("revoked", StringComparison.Ordinal) : status == "good", $"{serial}: {status}");
        }
        var crl = await client.GetByteArrayAsync("/pki/crl");
        Assert.True(SqliteDeployment.CrlNumber(crl) > deployment.LastCrlNumber,
            $"CRL number {SqliteDeployment.CrlNumber(crl)} after the old node's {deployment.LastCrlNumber}");
        var listed = (new X509CrlParser().ReadCrl(crl).GetRevokedCertificates() ?? new HashSet<X509CrlEntry>()).Select(e => e.SerialNumber).ToHashSet();
        Assert.Equal(deployment.Serials.Where(s => s.Value).Select(s => new BigInteger(s.Key, 16)).ToHashSet(), listed);

        // The node adopted the copied OCSP responders rather than making new ones.
        var keys = await CaKeysAsync(target);
        Assert.Equal(PemFile("issuing-ca-ocsp.crt", "CERTIFICATE"), keys["issuing-ca-ocsp"].Certificate);
        Assert.Equal(PemFile("root-ca-ocsp.crt", "CERTIFICATE"), keys["root-ca-ocsp"].Certificate);

        using var admin = node.CreateAdminClient();
        var verify = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/verify");
        Assert.True(verify.GetProperty("valid").GetBoolean(), verify.ToString());
        Assert.True(verify.GetProperty("lastId").GetInt64() > deployment.Audit.LastId, verify.ToString());

        using var enroller = node.CreateClient();
        enroller.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", deployment.EnrollerKey);
        using var token = await enroller.PostAsJsonAsync("/api/v1/enrollment-tokens", new { commonName = "after-the-move" });
        Assert.Equal(HttpStatusCode.Created, token.StatusCode);
    }

    [SkippableFact]
    public async Task CopyDatabase_TargetNotEmpty_Exits2WithOneLineAndTargetUnchanged()
    {
        var target = await NewDatabaseAsync();
        var first = await CopyAsync(target);
        Assert.True(first.ExitCode == 0, first.ToString());
        var before = await SnapshotAsync(target);

        var again = await CopyAsync(target);

        Assert.True(again.ExitCode == 2, again.ToString());
        var line = Assert.Single(again.ErrorLines);
        Assert.Contains("not empty", line, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, again.Output + again.Error, StringComparison.Ordinal);
        Assert.Equal(before, await SnapshotAsync(target));
    }

    [SkippableFact]
    public async Task CopyDatabase_TargetPortClosed_Exits3WithOneLine()
    {
        var closed = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = FreeLoopbackPort(),
            Database = "pki",
            Username = "pki",
            Password = Password,
            Timeout = 5,
        }.ConnectionString;

        var result = await CopyAsync(closed);

        Assert.True(result.ExitCode == 3, result.ToString());
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("--to: cannot connect to PostgreSQL", line, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, result.Output + result.Error, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task CopyDatabase_WrongPassphrase_Exits1WithOneLineAndTargetStaysEmpty()
    {
        var target = await NewDatabaseAsync();

        var result = await CopyAsync(target, passphrase: "not the passphrase of these keys");

        Assert.True(result.ExitCode == 1, result.ToString());
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("Pki:KeyPassphrase", line, StringComparison.Ordinal);
        Assert.DoesNotContain("not the passphrase of these keys", result.Output + result.Error, StringComparison.Ordinal);
        // Stopped before the target was touched: not even the schema is there.
        Assert.Equal(0, await ScalarAsync<long>(target, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"));
    }

    /// <summary>
    /// An audit row whose time is finer than a microsecond (as versions before the PostgreSQL support wrote every row)
    /// verifies on SQLite, which keeps 100 ns ticks; PostgreSQL keeps microseconds, so the copy moves the remaining ticks
    /// into their own column and the chain verifies on the target, through the service's own verify endpoint too.
    /// </summary>
    [SkippableFact]
    public async Task CopyDatabase_AuditRowWithTimeFinerThanMicrosecond_CopiedAndVerifiesOnTarget()
    {
        var source = CopyOfDeployment();
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(source, "pki.db")};Pooling=False"))
        {
            await connection.OpenAsync();
            await RewriteLastAuditRowWithFinerTimeAsync(connection, deployment.RootDer);
        }
        var target = await NewDatabaseAsync();

        var result = await CopyAsync(target, dataDirectory: source);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(3L, await ScalarAsync<long>(target,
            $"SELECT \"TimeTicksBelowMicrosecond\"::bigint FROM \"AuditEvents\" WHERE \"Id\" = {deployment.Audit.LastId}"));
        Assert.Equal(0L, await ScalarAsync<long>(target,
            $"SELECT count(*) FROM \"AuditEvents\" WHERE \"Id\" <> {deployment.Audit.LastId} AND \"TimeTicksBelowMicrosecond\" <> 0"));
        using var node = new PkiApiFactory(database: TestDatabase.Postgres, settings: new Dictionary<string, string?> { ["ConnectionStrings:Pki"] = target });
        using var admin = node.CreateAdminClient();
        var verification = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/verify");
        Assert.True(verification.GetProperty("valid").GetBoolean(), verification.ToString());
    }

    [Fact]
    public async Task CopyDatabase_DataDirectoryWithoutCa_Exits1WithOneLine()
    {
        var empty = TempDirectory.Create();

        var result = await CopyAsync(ClosedTarget(), dataDirectory: empty);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("There is no CA in", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CopyDatabase_DataDirectoryWithoutDatabase_Exits1WithOneLine()
    {
        var keysOnly = TempDirectory.Create();
        foreach (var file in Directory.GetFiles(deployment.DataDirectory).Where(f => f.EndsWith(".crt", StringComparison.Ordinal) || f.EndsWith(".key", StringComparison.Ordinal)))
        {
            File.Copy(file, Path.Combine(keysOnly, Path.GetFileName(file)));
        }

        var result = await CopyAsync(ClosedTarget(), dataDirectory: keysOnly);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("There is no database to copy", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(keysOnly, "pki.db")));
    }

    [Fact]
    public async Task CopyDatabase_WithoutTarget_Exits1WithOneLine()
    {
        var result = await CopyDatabaseProcess.RunAsync($"--Pki:DataDirectory={deployment.DataDirectory}", $"--Pki:KeyPassphrase={PkiApiFactory.Passphrase}");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("--to", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CopyDatabase_MalformedTarget_Exits1WithOneLine()
    {
        var result = await CopyAsync("Host=127.0.0.1;Port=not-a-port;Password=" + Password);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("--to is not a valid Npgsql connection string", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
        Assert.DoesNotContain(Password, result.Output + result.Error, StringComparison.Ordinal);
    }

    /// <summary>A copy of the deployment's data directory (database and key files) that a test may alter.</summary>
    private string CopyOfDeployment()
    {
        var copy = TempDirectory.Create();
        foreach (var file in Directory.GetFiles(deployment.DataDirectory))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }
        return copy;
    }

    /// <summary>
    /// Gives the last audit row a time 300 ns later and recomputes its hash and MAC with the deployment's key, as the
    /// service would have written it before audit times were truncated to microseconds.
    /// </summary>
    private static async Task RewriteLastAuditRowWithFinerTimeAsync(SqliteConnection connection, byte[] rootDer)
    {
        await using var read = connection.CreateCommand();
        read.CommandText = "SELECT \"Id\", \"Time\", \"Actor\", \"Action\", \"Target\", \"Outcome\", \"ClientIp\", \"Details\", \"PreviousHash\" FROM \"AuditEvents\" ORDER BY \"Id\" DESC LIMIT 1";
        AuditEntryContent content;
        byte[] previousHash;
        await using (var reader = await read.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            var time = DateTime.SpecifyKind(reader.GetDateTime(1), DateTimeKind.Utc).AddTicks(3);
            string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            content = new AuditEntryContent(reader.GetInt64(0), new DateTimeOffset(time), reader.GetString(2), reader.GetString(3), Text(4), reader.GetString(5), Text(6), Text(7));
            previousHash = (byte[])reader[8];
        }
        var hash = AuditChain.Hash(previousHash, content);
        using var key = PassphraseAuditMacKey.ForDeployment(PkiApiFactory.Passphrase, rootDer);
        await using var write = connection.CreateCommand();
        write.CommandText = "UPDATE \"AuditEvents\" SET \"Time\" = $time, \"Hash\" = $hash, \"Mac\" = $mac WHERE \"Id\" = $id";
        write.Parameters.AddWithValue("$time", content.Time.UtcDateTime);
        write.Parameters.AddWithValue("$hash", hash);
        write.Parameters.AddWithValue("$mac", key.ComputeMac(hash));
        write.Parameters.AddWithValue("$id", content.Id);
        Assert.Equal(1, await write.ExecuteNonQueryAsync());
    }

    private Task<CopyDatabaseProcess.Result> CopyAsync(string target, string? dataDirectory = null, string passphrase = PkiApiFactory.Passphrase) =>
        CopyDatabaseProcess.RunAsync("--to", target, $"--Pki:DataDirectory={dataDirectory ?? deployment.DataDirectory}", $"--Pki:KeyPassphrase={passphrase}");

    /// <summary>A new, empty database on the shared test cluster (with a password the cluster never asks for).</summary>
    internal static async Task<string> NewDatabaseAsync()
    {
        var connectionString = await PostgresCluster.Shared.EnsureDatabaseAsync("copy_" + Guid.NewGuid().ToString("N")[..16]);
        return new NpgsqlConnectionStringBuilder(connectionString) { Password = Password }.ConnectionString;
    }

    private static string ClosedTarget() => $"Host=127.0.0.1;Port={FreeLoopbackPort()};Database=pki;Username=pki;Password={Password};Timeout=5";

    private byte[] PemFile(string file, string label)
    {
        var text = File.ReadAllText(Path.Combine(deployment.DataDirectory, file));
        var fields = PemEncoding.Find(text);
        Assert.Equal(label, text[fields.Label]);
        return Convert.FromBase64String(text[fields.Base64Data]);
    }

    internal static async Task<long> CountAsync(string connectionString, string table, string? where = null) =>
        await ScalarAsync<long>(connectionString, $"SELECT count(*) FROM \"{table}\"" + (where is null ? "" : " WHERE " + where));

    private static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<Dictionary<string, (byte[] Certificate, byte[] Key)>> CaKeysAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT \"Name\", \"CertificateDer\", \"EncryptedPrivateKey\" FROM \"CaKeys\"", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var keys = new Dictionary<string, (byte[], byte[])>();
        while (await reader.ReadAsync())
        {
            keys[reader.GetString(0)] = ((byte[])reader[1], (byte[])reader[2]);
        }
        return keys;
    }

    /// <summary>Every copied table's row count and a digest of its rows, to show a refused run changed nothing.</summary>
    private static async Task<string> SnapshotAsync(string connectionString)
    {
        var parts = new List<string>();
        foreach (var table in CopiedTables.Append("CaKeys").Append("ServiceState"))
        {
            parts.Add($"{table}={await CountAsync(connectionString, table)}:" +
                await ScalarAsync<string>(connectionString, $"SELECT coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM \"{table}\" t"));
        }
        return string.Join('\n', parts);
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
