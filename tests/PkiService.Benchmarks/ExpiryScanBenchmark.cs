using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PkiService.Api.Features.Expiry;
using PkiService.Persistence;
using PkiService.Persistence.Sqlite;
using PkiService.Persistence.Entities;

namespace PkiService.Benchmarks;

/// <summary>
/// Times one expiry scan over N certificates in a real SQLite file (WAL, migrated schema). notAfter is spread
/// evenly over the next 400 days, so about 7.5% fall inside the widest default threshold (P30D).
/// Reports the first scan (records the warnings) and a steady-state scan (nothing new: the common case).
/// </summary>
public static class ExpiryScanBenchmark
{
    public static async Task RunAsync(int certificates)
    {
        var directory = Path.Combine(Path.GetTempPath(), "pki-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        try
        {
            await SqliteDatabase.PrepareFileAsync(directory, CancellationToken.None);
            var options = (DbContextOptions<PkiDbContext>)new DbContextOptionsBuilder<PkiDbContext>().UsePkiSqlite(SqliteDatabase.ConnectionString(directory)).Options;
            await using (var db = new PkiDbContext(options))
            {
                await db.Database.MigrateAsync();
            }
            var now = DateTimeOffset.UtcNow;
            var seeding = Stopwatch.StartNew();
            await SeedAsync(directory, certificates, now.UtcDateTime);
            Console.WriteLine($"seeded {certificates:N0} certificates in {seeding.Elapsed.TotalSeconds:F1} s");

            var channels = new IExpiryWarningChannel[] { new CountingChannel("webhook"), new CountingChannel("email") };
            var expiry = Options.Create(new ExpiryOptions());
            foreach (var label in new[] { "first scan (records warnings)", "steady-state scan", "steady-state scan" })
            {
                await using var db = new PkiDbContext(options);
                var scanner = new ExpiryScanner(db, channels, expiry, new FixedTime(now), NullLogger<ExpiryScanner>.Instance);
                var watch = Stopwatch.StartNew();
                var recorded = await scanner.ScanAsync(CancellationToken.None);
                Console.WriteLine($"{label}: {watch.Elapsed.TotalMilliseconds:F0} ms, {recorded:N0} warnings recorded");
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task SeedAsync(string directory, int count, DateTime now)
    {
        await using var connection = new SqliteConnection(SqliteDatabase.ConnectionString(directory));
        await connection.OpenAsync();
        await using var transaction = connection.BeginTransaction();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO Certificates (SerialNumber, IssuerFingerprint, Subject, CommonName, SubjectAltNames, Profile, NotBefore, NotAfter, IssuedAt, Status, Der, ContactEmail)
            VALUES ($serial, 'BENCH', $subject, $cn, '[]', 'client', $notBefore, $notAfter, $notBefore, 'Active', x'00', 'ops@example.org')
            """;
        var serial = command.Parameters.Add("$serial", SqliteType.Text);
        var subject = command.Parameters.Add("$subject", SqliteType.Text);
        var cn = command.Parameters.Add("$cn", SqliteType.Text);
        var notBefore = command.Parameters.Add("$notBefore", SqliteType.Text);
        var notAfter = command.Parameters.Add("$notAfter", SqliteType.Text);
        for (var i = 0; i < count; i++)
        {
            serial.Value = i.ToString("X32", System.Globalization.CultureInfo.InvariantCulture);
            cn.Value = $"device-{i}";
            subject.Value = $"CN=device-{i}";
            notBefore.Value = now.AddDays(-1).ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", System.Globalization.CultureInfo.InvariantCulture);
            notAfter.Value = now.AddMinutes(400.0 * 24 * 60 * i / count + 1).ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", System.Globalization.CultureInfo.InvariantCulture);
            await command.ExecuteNonQueryAsync();
        }
        await transaction.CommitAsync();
    }

    private sealed class CountingChannel(string name) : IExpiryWarningChannel
    {
        public string Name => name;

        public bool IsConfigured => true;

        public bool RequiresContactEmail => name == "email";

        public Task SendAsync(ExpiryWarning warning, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
