using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;
using Org.BouncyCastle.X509.Extension;
using PkiService.Interop.Tests.Infrastructure;
using Xunit.Abstractions;
using BcBigInteger = Org.BouncyCastle.Math.BigInteger;

namespace PkiService.Interop.Tests.Resilience;

/// <summary>
/// Crash consistency: the real service process runs concurrent enrollments and revocations from several clients and is
/// killed with SIGKILL mid-load, then restarted on the same data directory, several times over. After every restart:
/// each certificate a client received (201) is in the database with the right status (revoked when its revoke call got
/// 200, and listed on the CRL), no serial appears twice, the CRL number never went back, and the audit chain verifies.
/// Runs its own service process.
/// </summary>
[Collection(ServiceCollection.Name)] // not for the shared service: no other test may run while this one kills its own
public sealed class CrashConsistencyTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Kills = 6;
    private const int Clients = 6;
    private const int Seed = 424_242;
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(20);

    private readonly ServiceProcess _service = new();
    private readonly ConcurrentDictionary<string, Issued> _issued = new();
    private readonly ConcurrentQueue<string> _unexpected = new();
    private readonly object _crlLock = new();
    private BcBigInteger _highestCrlNumberSeen = BcBigInteger.ValueOf(-1);
    private volatile bool _killing;
    private int _interrupted;
    private int _issuedThisRound;

    public Task InitializeAsync() => _service.InitializeAsync();

    public Task DisposeAsync() => _service.DisposeAsync();

    /// <summary>What a client was told about one certificate.</summary>
    private sealed class Issued
    {
        public volatile bool RevokeSent;
        public volatile bool RevokeConfirmed;
    }

    [Fact]
    public async Task KillNineMidLoad_RepeatedRestarts_KeepEveryAnsweredCertificateRevocationAndCrlNumber()
    {
        var random = new Random(Seed);
        var started = DateTime.UtcNow;
        for (var kill = 1; kill <= Kills; kill++)
        {
            _killing = false;
            Interlocked.Exchange(ref _issuedThisRound, 0);
            var clients = Enumerable.Range(0, Clients).Select(c => RunClientAsync($"crash-{kill}-{c}", new Random(Seed + 100 * kill + c))).ToArray();
            // Let the load get going, then kill after a different delay each round so the kill lands at different points.
            Assert.True(await Wait.UntilAsync(() => Volatile.Read(ref _issuedThisRound) >= Clients, TimeSpan.FromSeconds(60)),
                $"round {kill}: the clients got no certificates: {string.Join("; ", _unexpected)}\n{_service.Log}");
            await Task.Delay(random.Next(50, 1500));
            _killing = true;
            _service.Kill();
            await Task.WhenAll(clients);
            Assert.True(_unexpected.IsEmpty, $"round {kill}: unexpected answers before the kill:\n{string.Join("\n", _unexpected.Take(10))}");

            await _service.RestartAsync();
            await VerifyAsync(kill);
        }

        var revocations = _issued.Values.Count(i => i.RevokeConfirmed);
        output.WriteLine($"{Kills} kills survived in {(DateTime.UtcNow - started).TotalSeconds:F0} s; {_issued.Count} certificates and {revocations} confirmed revocations checked after every restart; " +
            $"{_interrupted} calls cut off by the kills; highest CRL number {_highestCrlNumberSeen}");
        var figure = $"FIGURE crash-consistency: kills={Kills} certificates={_issued.Count} revocations={revocations}";
        output.WriteLine(figure);
        Console.WriteLine(figure);
    }

    /// <summary>One client: token, CSR, enroll; revokes about half of what it gets. Stops at the first failure after the kill.</summary>
    private async Task RunClientAsync(string name, Random random)
    {
        using var api = new PkiApiClient(new HttpClient { BaseAddress = _service.BaseAddress, Timeout = CallTimeout }, ServiceProcess.AdminApiKey);
        for (var n = 0; !_killing; n++)
        {
            try
            {
                var commonName = $"{name}-{n}";
                var token = await api.CreateEnrollmentTokenAsync(commonName, []);
                var enrolled = await api.EnrollAsync(token, Csr(commonName));
                var issued = new Issued();
                if (!_issued.TryAdd(enrolled.SerialNumber, issued))
                {
                    _unexpected.Enqueue($"serial {enrolled.SerialNumber} was handed out twice");
                }
                Interlocked.Increment(ref _issuedThisRound);
                if (random.Next(2) == 0)
                {
                    issued.RevokeSent = true;
                    await api.RevokeAsync(enrolled.SerialNumber, "superseded");
                    issued.RevokeConfirmed = true;
                    // The CRL served once the revoke has answered lists the serial; remember its number.
                    ObserveCrl(await api.GetBytesAsync("pki/crl"), [enrolled.SerialNumber]);
                }
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or InvalidOperationException)
            {
                if (_killing)
                {
                    Interlocked.Increment(ref _interrupted);
                    return;
                }
                _unexpected.Enqueue($"{name}: {exception.Message}");
                return;
            }
        }
    }

    private async Task VerifyAsync(int kill)
    {
        // Every serial once, via the admin API's paging.
        var listed = new Dictionary<string, string>();
        var total = -1;
        for (var page = 1; ; page++)
        {
            var json = await _service.Api.GetAdminJsonAsync($"api/v1/certificates?page={page}&pageSize=200");
            total = json.GetProperty("total").GetInt32();
            var items = json.GetProperty("items").EnumerateArray().ToList();
            foreach (var item in items)
            {
                var serial = item.GetProperty("serialNumber").GetString()!;
                Assert.True(listed.TryAdd(serial, item.GetProperty("status").GetString()!), $"after kill {kill}: serial {serial} is listed twice");
            }
            if (items.Count < 200)
            {
                break;
            }
        }
        Assert.Equal(total, listed.Count);

        foreach (var (serial, issued) in _issued)
        {
            Assert.True(listed.TryGetValue(serial, out var status), $"after kill {kill}: certificate {serial}, answered 201, is not in the database");
            if (issued.RevokeConfirmed)
            {
                Assert.True(status == "revoked", $"after kill {kill}: {serial}, whose revocation answered 200, is {status}");
            }
            else if (!issued.RevokeSent)
            {
                Assert.True(status == "active", $"after kill {kill}: {serial}, never revoked, is {status}");
            }
            else
            {
                Assert.True(status is "active" or "revoked", $"after kill {kill}: {serial} (revoke cut off by the kill) is {status}");
            }
        }

        var confirmed = _issued.Where(i => i.Value.RevokeConfirmed).Select(i => i.Key).ToList();
        var before = _highestCrlNumberSeen;
        var number = ObserveCrl(await _service.Api.GetBytesAsync("pki/crl"), confirmed);
        Assert.True(number.CompareTo(before) >= 0, $"after kill {kill}: the CRL number went back from {before} to {number}");

        var audit = await _service.Api.GetAdminJsonAsync("api/v1/audit/verify");
        Assert.True(audit.GetProperty("valid").GetBoolean(), $"after kill {kill}: the audit chain does not verify: {audit}");
        output.WriteLine($"kill {kill}: {listed.Count} certificates in the database, {_issued.Count} answered to clients, " +
            $"{confirmed.Count} confirmed revocations on CRL {number}, audit chain of {audit.GetProperty("checked").GetInt64()} rows valid");
    }

    /// <summary>Parses a CRL, checks it lists <paramref name="mustList"/>, and returns its number (kept if the highest seen).</summary>
    private BcBigInteger ObserveCrl(byte[] der, IReadOnlyCollection<string> mustList)
    {
        var crl = new X509CrlParser().ReadCrl(der);
        var number = DerInteger.GetInstance(X509ExtensionUtilities.FromExtensionValue(crl.GetExtensionValue(X509Extensions.CrlNumber))).Value;
        foreach (var serial in mustList)
        {
            Assert.True(crl.GetRevokedCertificate(new BcBigInteger(serial, 16)) is not null, $"CRL {number} does not list revoked {serial}");
        }
        lock (_crlLock)
        {
            if (number.CompareTo(_highestCrlNumberSeen) > 0)
            {
                _highestCrlNumberSeen = number;
            }
        }
        return number;
    }

    private static string Csr(string commonName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
    }
}
