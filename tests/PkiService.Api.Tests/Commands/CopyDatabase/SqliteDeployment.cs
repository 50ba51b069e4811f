using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;
using PkiService.Api.Features.Expiry;
using PkiService.Api.Tests.Support;
using PkiService.Tests.Shared;

namespace PkiService.Api.Tests.Commands.CopyDatabase;

/// <summary>
/// A single node's deployment on SQLite, made through its API and then stopped: a few hundred certificates (some
/// revoked), unused tokens, a second API key, expiry warnings and the audit trail all that wrote. Built once for the
/// copy-database tests, which only read it.
/// </summary>
public sealed class SqliteDeployment : IAsyncLifetime
{
    public const int Certificates = 300;
    public const int Expiring = 4;
    public const int UnusedTokens = 5;

    private static readonly string[] Reasons = ["keyCompromise", "superseded", "cessationOfOperation", "affiliationChanged"];

    public string DataDirectory { get; } = TempDirectory.Create();

    /// <summary>Serial → revoked, for every certificate issued.</summary>
    public Dictionary<string, bool> Serials { get; } = [];

    /// <summary>The secret of an API key (role enroller) created on the old node.</summary>
    public string EnrollerKey { get; private set; } = "";

    /// <summary>The cRLNumber of the last complete CRL the old node published for its issuing CA.</summary>
    public long LastCrlNumber { get; private set; }

    public byte[] RootDer { get; private set; } = [];

    public byte[] IssuingDer { get; private set; } = [];

    /// <summary>The serials of the <see cref="Expiring"/> certificates (some of them may be among those revoked).</summary>
    public HashSet<string> ExpiringSerials { get; } = [];

    /// <summary>The audit trail's last id and hash as the old node verified it.</summary>
    public (long LastId, string LastHash) Audit { get; private set; }

    public async Task InitializeAsync()
    {
        using var receiver = new WebhookReceiver();
        var settings = new Dictionary<string, string?>
        {
            ["RateLimits:EnrollmentPerMinute"] = "100000",
            ["Notifications:Webhook:Url"] = receiver.Url,
            ["Notifications:Webhook:Secret"] = "webhook-test-secret-of-at-least-32-bytes",
            ["Expiry:ScanInterval"] = "P1D", // runs once at start; scanned once more below
        };
        using var node = new PkiApiFactory(DataDirectory, settings: settings);
        using var admin = node.CreateAdminClient();
        using var client = node.CreateClient();

        var issued = new List<string>();
        using var gate = new SemaphoreSlim(6);
        var enrollments = Enumerable.Range(0, Certificates + Expiring).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var name = $"device-{i:D3}";
                var token = await node.CreateTokenAsync(name);
                using var response = await node.EnrollAsync(token, Csrs.P256(name), i < Expiring ? "P5D" : null);
                response.EnsureSuccessStatusCode();
                var serial = (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!.SerialNumber;
                lock (issued)
                {
                    issued.Add(serial);
                    if (i < Expiring)
                    {
                        ExpiringSerials.Add(serial);
                    }
                }
            }
            finally
            {
                gate.Release();
            }
        });
        await Task.WhenAll(enrollments);
        for (var i = 0; i < UnusedTokens; i++)
        {
            await node.CreateTokenAsync($"unused-{i}");
        }
        var key = await admin.PostAsJsonAsync("/api/v1/api-keys", new { name = "enroller from the old node", role = "enroller" });
        key.EnsureSuccessStatusCode();
        EnrollerKey = (await key.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;

        issued.Sort(StringComparer.Ordinal);
        for (var i = 0; i < issued.Count; i++)
        {
            var revoke = i % 5 == 0;
            Serials[issued[i]] = revoke;
            if (revoke)
            {
                var response = await admin.PostAsJsonAsync($"/api/v1/certificates/{issued[i]}/revoke", new { reason = Reasons[i / 5 % Reasons.Length] });
                response.EnsureSuccessStatusCode();
            }
        }
        await ExpiryWarningJob.RunOnceAsync(node.Services.GetRequiredService<IServiceScopeFactory>(), CancellationToken.None);

        RootDer = await client.GetByteArrayAsync("/pki/root.crt");
        IssuingDer = await client.GetByteArrayAsync("/pki/ca.crt");
        LastCrlNumber = CrlNumber(await client.GetByteArrayAsync("/pki/crl"));
        var verify = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/verify");
        Assert.True(verify.GetProperty("valid").GetBoolean(), verify.ToString());
        Audit = (verify.GetProperty("lastId").GetInt64(), verify.GetProperty("lastHash").GetString()!);
        Assert.True(LastCrlNumber > 1, $"the old node published CRL number {LastCrlNumber}");
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Rows per table in the deployment's SQLite file.</summary>
    public long Count(string table)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(DataDirectory, "pki.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM \"{table}\"";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>The cRLNumber extension (RFC 5280 5.2.3) of a DER CRL.</summary>
    public static long CrlNumber(byte[] der)
    {
        var crl = new X509CrlParser().ReadCrl(der);
        var value = crl.GetExtensionValue(X509Extensions.CrlNumber);
        return DerInteger.GetInstance(Asn1Object.FromByteArray(value.GetOctets())).LongValueExact;
    }
}
