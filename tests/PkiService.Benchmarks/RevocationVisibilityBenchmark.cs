using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Org.BouncyCastle.X509;
using PkiService.Api.Features.Crl;
using PkiService.Api.Infrastructure;
using PkiService.Core.Authorities;
using PkiService.Persistence;
using PkiService.Persistence.Sqlite;

namespace PkiService.Benchmarks;

/// <summary>
/// Seeds a SQLite file (WAL, migrated schema) with N certificates of the issuing CA, a tenth of them revoked, then
/// through the real <see cref="CrlPublisher"/>: times the base build, the full rebuild a revocation triggers, and from a
/// revocation committed to the complete CRL and the delta CRL both listing it.
/// </summary>
public static class RevocationVisibilityBenchmark
{
    public static async Task RunAsync(int certificates)
    {
        var directory = Path.Combine(Path.GetTempPath(), "pki-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        try
        {
            using var hierarchy = CaHierarchy.LoadOrCreate(new FileCaKeyProvider(new FileCaKeyStore(directory), "benchmark", 1_000), new CaHierarchyOptions(), TimeProvider.System, NullLogger.Instance);
            await SqliteDatabase.PrepareFileAsync(directory, CancellationToken.None);
            var services = new ServiceCollection()
                .AddDbContext<PkiDbContext>(o => o.UsePkiSqlite(SqliteDatabase.ConnectionString(directory)))
                .AddMetrics()
                .BuildServiceProvider();
            await using (var scope = services.CreateAsyncScope())
            {
                await scope.ServiceProvider.GetRequiredService<PkiDbContext>().Database.MigrateAsync();
            }
            var revoked = certificates / 10;
            var seeding = Stopwatch.StartNew();
            await SeedAsync(directory, hierarchy.Issuing.Fingerprint, certificates, revoked, DateTime.UtcNow);
            Console.WriteLine($"seeded {certificates:N0} certificates ({revoked:N0} revoked) in {seeding.Elapsed.TotalSeconds:F1} s");

            var publisher = new CrlPublisher(services.GetRequiredService<IServiceScopeFactory>(), hierarchy,
                Options.Create(new CrlOptions()), Options.Create(new PkiOptions { PublicBaseUrl = "https://pki.example.test" }),
                TimeProvider.System,
                new PkiMetrics(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), services, TimeProvider.System, NullLogger<PkiMetrics>.Instance),
                PkiDatabaseRegistration.Create(null, directory),
                new CrlBuilderLease(services.GetRequiredService<IServiceScopeFactory>(), Options.Create(new CrlOptions()), new NodeInstance(), TimeProvider.System, NullLogger<CrlBuilderLease>.Instance),
                NullLogger<CrlPublisher>.Instance);
            var watch = Stopwatch.StartNew();
            await publisher.EnsurePublishedAfterAsync(CancellationToken.None);
            Console.WriteLine($"base CRL + delta + root CRL at start: {watch.Elapsed.TotalMilliseconds:F0} ms");
            var rebuilds = new List<double>();
            for (var i = 0; i < 5; i++)
            {
                watch.Restart();
                await publisher.EnsurePublishedAfterAsync(CancellationToken.None);
                rebuilds.Add(watch.Elapsed.TotalMilliseconds);
            }
            Console.WriteLine($"full rebuild with {revoked:N0} revoked (DB read, complete + delta CRL, numbers committed): {Summary(rebuilds)}");

            await using var connection = new SqliteConnection(SqliteDatabase.ConnectionString(directory));
            await connection.OpenAsync();
            var visible = new List<double>();
            for (var i = 0; i < 5; i++)
            {
                var serial = (certificates - i).ToString("X32", CultureInfo.InvariantCulture);
                await using (var command = connection.CreateCommand())
                {
                    command.CommandText = "UPDATE Certificates SET Status = 'Revoked', RevokedAt = $now, RevocationReason = 'keyCompromise' WHERE SerialNumber = $serial";
                    command.Parameters.AddWithValue("$now", DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture));
                    command.Parameters.AddWithValue("$serial", serial);
                    await command.ExecuteNonQueryAsync(); // autocommit: committed when this returns
                }
                watch.Restart();
                await publisher.EnsurePublishedAfterAsync(CancellationToken.None);
                visible.Add(watch.Elapsed.TotalMilliseconds);
                var set = await publisher.GetCurrentAsync(CancellationToken.None);
                var number = new Org.BouncyCastle.Math.BigInteger(serial, 16);
                if (new X509CrlParser().ReadCrl(set.Delta.Crl.Der).GetRevokedCertificate(number) is null
                    || new X509CrlParser().ReadCrl(set.Issuing.Crl.Der).GetRevokedCertificate(number) is null)
                {
                    throw new InvalidOperationException($"serial {serial} is missing from the published CRLs");
                }
                if (i == 4)
                {
                    Console.WriteLine($"complete CRL {set.Issuing.Crl.EntryCount:N0} entries ({set.Issuing.Crl.Der.Length / 1048576.0:F1} MB), delta CRL {set.Delta.Crl.EntryCount:N0} entries ({set.Delta.Crl.Der.Length:N0} octets)");
                }
            }
            Console.WriteLine($"revocation committed -> complete and delta CRL list it: {Summary(visible)}");
            Console.WriteLine($"peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MB");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string Summary(List<double> milliseconds) =>
        $"median {milliseconds.Order().ElementAt(milliseconds.Count / 2):F0} ms, min {milliseconds.Min():F0} ms, max {milliseconds.Max():F0} ms (n={milliseconds.Count})";

    /// <summary>Bulk insert in one transaction, as <see cref="ExpiryScanBenchmark"/> does; every tenth certificate revoked.</summary>
    private static async Task SeedAsync(string directory, string issuer, int count, int revoked, DateTime now)
    {
        await using var connection = new SqliteConnection(SqliteDatabase.ConnectionString(directory));
        await connection.OpenAsync();
        await using var transaction = connection.BeginTransaction();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO Certificates (SerialNumber, IssuerFingerprint, Subject, CommonName, SubjectAltNames, Profile, NotBefore, NotAfter, IssuedAt, Status, Der, ContactEmail, RevokedAt, RevocationReason)
            VALUES ($serial, $issuer, $subject, $cn, '[]', 'client', $notBefore, $notAfter, $notBefore, $status, x'00', 'ops@example.org', $revokedAt, $reason)
            """;
        command.Parameters.AddWithValue("$issuer", issuer);
        var serial = command.Parameters.Add("$serial", SqliteType.Text);
        var subject = command.Parameters.Add("$subject", SqliteType.Text);
        var cn = command.Parameters.Add("$cn", SqliteType.Text);
        var notBefore = command.Parameters.Add("$notBefore", SqliteType.Text);
        var notAfter = command.Parameters.Add("$notAfter", SqliteType.Text);
        var status = command.Parameters.Add("$status", SqliteType.Text);
        var revokedAt = command.Parameters.Add("$revokedAt", SqliteType.Text);
        var reason = command.Parameters.Add("$reason", SqliteType.Text);
        var stride = count / Math.Max(1, revoked);
        string[] reasons = ["keyCompromise", "superseded", "cessationOfOperation", "unspecified", "affiliationChanged"];
        for (var i = 0; i < count; i++)
        {
            var isRevoked = i % stride == 0 && i / stride < revoked;
            serial.Value = (i + 1).ToString("X32", CultureInfo.InvariantCulture); // serials are positive
            cn.Value = $"device-{i}";
            subject.Value = $"CN=device-{i}";
            notBefore.Value = Format(now.AddDays(-30));
            notAfter.Value = Format(now.AddDays(30 + i % 365));
            status.Value = isRevoked ? "Revoked" : "Active";
            revokedAt.Value = isRevoked ? Format(now.AddDays(-1).AddSeconds(i % 86_400)) : DBNull.Value;
            reason.Value = isRevoked ? reasons[i % reasons.Length] : DBNull.Value;
            await command.ExecuteNonQueryAsync();
        }
        await transaction.CommitAsync();
    }

    private static string Format(DateTime value) => value.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture);
}
