using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Data.Common;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;
using PkiService.Persistence.Sqlite;

namespace PkiService.Benchmarks;

/// <summary>
/// Enrollment end to end against a running service: HTTP, token check, CSR verify, sign, commit to SQLite.
/// Tokens are seeded straight into the service's database (their secrets hashed as the service stores them) so
/// the measured window holds only enrollments; afterwards every 201 is checked against a committed row.
/// <para>
/// The database is named by a data directory (SQLite: its <c>pki.db</c>) or, for a node on PostgreSQL, by the node's
/// Npgsql connection string (<c>postgres:Host=...;Database=...</c>), so one run can compare both providers.
/// </para>
/// </summary>
public static class EnrollmentLoad
{
    public static async Task RunAsync(Uri baseAddress, string dataDirectory, int clients, TimeSpan duration)
    {
        var csrs = Enumerable.Range(0, 256).Select(_ => SpeedBenchmarks.Csr("bench-load")).ToArray();
        var (run, tokens) = await SeedTokensAsync(dataDirectory, count: Math.Max(5_000, (int)(duration.TotalSeconds * 3_000)));

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
        var next = -1;
        long created = 0, refused = 0;
        var latencies = new List<double>[clients];
        var stop = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async client =>
        {
            latencies[client] = [];
            while (stop.Elapsed < duration)
            {
                var index = Interlocked.Increment(ref next);
                if (index >= tokens.Length)
                {
                    break;
                }
                using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/enroll") { Content = JsonContent.Create(new { csr = csrs[index % csrs.Length] }) };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens[index]);
                var started = Stopwatch.GetTimestamp();
                using var response = await http.SendAsync(request);
                latencies[client].Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    Interlocked.Increment(ref created);
                }
                else
                {
                    Interlocked.Increment(ref refused);
                }
            }
        }));
        var elapsed = stop.Elapsed.TotalSeconds;

        var committed = await CountCommittedAsync(dataDirectory, run);
        var all = latencies.SelectMany(l => l).Order().ToArray();
        var p99 = all.Length == 0 ? 0 : all[(int)(all.Length * 0.99)];
        Console.WriteLine($"enrollments: {created} created, {refused} refused in {elapsed:F1} s with {clients} clients; committed rows for them: {committed}");
        Console.WriteLine($"RESULT enroll_per_s={(long)(created / elapsed)}");
        Console.WriteLine($"RESULT enroll_p99_ms={p99.ToString("F1", CultureInfo.InvariantCulture)}");
        Console.WriteLine($"RESULT enroll_all_committed={(committed == created ? 1 : 0)}");
    }

    /// <summary>
    /// For a load generator outside .NET (ops/bench/run.sh drives wrk with enroll.lua): seeds <paramref name="count"/>
    /// tokens, writes their secrets one per line to <paramref name="tokensFile"/> and as many JSON request bodies
    /// (distinct P-256 CSRs, up to 256, reused round-robin) to <paramref name="bodiesFile"/>.
    /// </summary>
    public static async Task SeedForExternalLoadAsync(string dataDirectory, int count, string tokensFile, string bodiesFile)
    {
        var (run, secrets) = await SeedTokensAsync(dataDirectory, count);
        await File.WriteAllLinesAsync(tokensFile, secrets);
        await File.WriteAllLinesAsync(bodiesFile, Enumerable.Range(0, Math.Min(count, 256))
            .Select(_ => System.Text.Json.JsonSerializer.Serialize(new { csr = SpeedBenchmarks.Csr("bench-load") })));
        Console.WriteLine($"RESULT enroll_seeded={count} run={run}");
    }

    /// <summary>
    /// Checks what an external load generator was told against the database: every serial in the files under
    /// <paramref name="serialsDirectory"/> (one per 201 answer) must be a committed certificate.
    /// </summary>
    public static async Task<int> CheckExternalLoadAsync(string dataDirectory, string serialsDirectory)
    {
        var serials = Directory.EnumerateFiles(serialsDirectory).SelectMany(File.ReadLines).Where(l => l.Length > 0).ToList();
        await using var connection = await OpenAsync(dataDirectory);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM \"Certificates\" WHERE \"SerialNumber\" = @serial";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "serial";
        command.Parameters.Add(parameter);
        var missing = 0;
        foreach (var serial in serials)
        {
            parameter.Value = serial;
            if (Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture) != 1)
            {
                missing++;
            }
        }
        var distinct = serials.Distinct(StringComparer.Ordinal).Count();
        Console.WriteLine($"enrollments answered 201: {serials.Count} ({distinct} distinct serials), of which not committed: {missing}");
        Console.WriteLine($"RESULT enroll_created={serials.Count}");
        Console.WriteLine($"RESULT enroll_all_committed={(missing == 0 && distinct == serials.Count ? 1 : 0)}");
        return missing == 0 ? 0 : 1;
    }

    private static async Task<(string Run, string[] Secrets)> SeedTokensAsync(string dataDirectory, int count)
    {
        var secrets = new string[count];
        var run = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        for (var i = 0; i < count; i++)
        {
            secrets[i] = $"pki_et_bench_{run}_{i}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}";
        }
        await using var connection = await OpenAsync(dataDirectory);
        var now = DateTime.UtcNow;
        if (connection is NpgsqlConnection npgsql)
        {
            // COPY: one round trip for all rows (an INSERT per row costs a round trip each).
            await using (var copy = await npgsql.BeginBinaryImportAsync(
                """COPY "EnrollmentTokens" ("Id", "SecretHash", "CommonName", "SubjectAltNames", "Profile", "CreatedAt", "ExpiresAt") FROM STDIN (FORMAT BINARY)"""))
            {
                for (var i = 0; i < count; i++)
                {
                    await copy.StartRowAsync();
                    await copy.WriteAsync($"bench-{run}-{i}", NpgsqlTypes.NpgsqlDbType.Text);
                    await copy.WriteAsync(SHA256.HashData(Encoding.UTF8.GetBytes(secrets[i])), NpgsqlTypes.NpgsqlDbType.Bytea);
                    await copy.WriteAsync("bench-load", NpgsqlTypes.NpgsqlDbType.Text);
                    await copy.WriteAsync(Array.Empty<string>(), NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text);
                    await copy.WriteAsync("client", NpgsqlTypes.NpgsqlDbType.Text);
                    await copy.WriteAsync(now, NpgsqlTypes.NpgsqlDbType.TimestampTz);
                    await copy.WriteAsync(now.AddHours(2), NpgsqlTypes.NpgsqlDbType.TimestampTz);
                }
                await copy.CompleteAsync();
            }
            // What PostgreSQL's manual asks after a bulk load ("Populating a Database": run ANALYZE afterwards); VACUUM
            // also sets the rows' hint bits and the visibility map now, which the first reads of freshly copied rows
            // would otherwise do, writing every page back during the first measured window. Tokens made one by one
            // over time, as in use, are in that state already.
            await using var vacuum = new NpgsqlCommand("""VACUUM (ANALYZE) "EnrollmentTokens" """, npgsql);
            await vacuum.ExecuteNonQueryAsync();
            return (run, secrets);
        }
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        // SQLite keeps the names as JSON text and the times as text.
        command.CommandText = """
            INSERT INTO EnrollmentTokens (Id, SecretHash, CommonName, SubjectAltNames, Profile, CreatedAt, ExpiresAt)
            VALUES (@id, @hash, 'bench-load', '[]', 'client', @now, @expires)
            """;
        var id = Parameter(command, "id", null);
        var hash = Parameter(command, "hash", null);
        Parameter(command, "now", now.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture));
        Parameter(command, "expires", now.AddHours(2).ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture));
        for (var i = 0; i < count; i++)
        {
            id.Value = $"bench-{run}-{i}";
            hash.Value = SHA256.HashData(Encoding.UTF8.GetBytes(secrets[i]));
            await command.ExecuteNonQueryAsync();
        }
        await transaction.CommitAsync();
        return (run, secrets);
    }

    /// <summary>Certificates committed for this run's tokens (whose ids start with bench-{run}-).</summary>
    private static async Task<long> CountCommittedAsync(string dataDirectory, string run)
    {
        await using var connection = await OpenAsync(dataDirectory);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT COUNT(*) FROM "Certificates" c JOIN "EnrollmentTokens" t ON t."Id" = c."EnrollmentTokenId"
            WHERE t."Id" LIKE @prefix AND t."UsedAt" IS NOT NULL
            """;
        Parameter(command, "prefix", $"bench-{run}-%");
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>The prefix that names a PostgreSQL database instead of a data directory.</summary>
    public const string PostgresPrefix = "postgres:";

    /// <summary>
    /// Opens the service's database: <c>postgres:&lt;Npgsql connection string&gt;</c> for a node on PostgreSQL, else the
    /// SQLite file in the data directory <paramref name="database"/>.
    /// </summary>
    private static async Task<DbConnection> OpenAsync(string database)
    {
        DbConnection connection = database.StartsWith(PostgresPrefix, StringComparison.Ordinal)
            ? new NpgsqlConnection(database[PostgresPrefix.Length..])
            : new SqliteConnection(SqliteDatabase.ConnectionString(database));
        await connection.OpenAsync();
        return connection;
    }

    private static DbParameter Parameter(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
        return parameter;
    }
}
