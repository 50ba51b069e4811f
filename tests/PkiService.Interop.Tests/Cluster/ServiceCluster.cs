using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Npgsql;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Ocsp;
using Org.BouncyCastle.X509;
using PkiService.Interop.Tests.Infrastructure;
using PkiService.Tests.Shared;

namespace PkiService.Interop.Tests.Cluster;

/// <summary>
/// Several real PkiService processes on one PostgreSQL database, as issue 11 deploys them: each node has its own data
/// directory and port, all share <c>Pki:KeyPassphrase</c>, <c>Database:Provider=Postgres</c> and
/// <c>ConnectionStrings:Pki</c> naming one database that is empty when they are all started at once. Also the reads
/// the cluster tests make of what the nodes serve (OCSP status, CRL contents and ETag) and of the shared tables.
/// </summary>
public sealed class ServiceCluster : IAsyncDisposable
{
    /// <summary>What every node writes into its certificates' CDP and AIA: the load balancer's name, one for all nodes.</summary>
    public const string PublicBaseUrl = "http://pki.cluster.test";

    private ServiceCluster(PostgresCluster postgres, string connectionString, IReadOnlyList<ServiceProcess> nodes)
    {
        Postgres = postgres;
        ConnectionString = connectionString;
        Nodes = nodes;
    }

    public PostgresCluster Postgres { get; }

    /// <summary>The Npgsql connection string of the database the nodes share.</summary>
    public string ConnectionString { get; }

    public IReadOnlyList<ServiceProcess> Nodes { get; }

    /// <summary>
    /// Creates an empty database on <paramref name="postgres"/> and starts <paramref name="count"/> nodes on it at the
    /// same time (they race to apply the schema and create the CA hierarchy). <paramref name="settings"/> go to every node.
    /// </summary>
    public static async Task<ServiceCluster> StartAsync(PostgresCluster postgres, int count, IReadOnlyDictionary<string, string>? settings = null)
    {
        var database = "pki_cluster_" + Guid.NewGuid().ToString("N")[..12];
        var connectionString = new NpgsqlConnectionStringBuilder(await postgres.EnsureDatabaseAsync(database))
        {
            // Three nodes and the test share the server's connections; a node needs few at this load.
            MaxPoolSize = 30,
        }.ConnectionString;
        var common = new Dictionary<string, string>
        {
            ["Database:Provider"] = "Postgres",
            ["ConnectionStrings:Pki"] = connectionString,
            ["Pki:PublicBaseUrl"] = PublicBaseUrl,
            ["RateLimits:EnrollmentPerMinute"] = "100000",
            ["RateLimits:PublicPerSecond"] = "100000",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            common[key] = value;
        }
        var nodes = Enumerable.Range(0, count).Select(_ => new ServiceProcess { Settings = common }).ToList();
        var cluster = new ServiceCluster(postgres, connectionString, nodes);
        try
        {
            await Task.WhenAll(nodes.Select(node => node.InitializeAsync()));
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return cluster;
    }

    /// <summary>What every node printed, for assertion messages.</summary>
    public string Logs() => string.Join("\n", Nodes.Select((node, i) => $"==== node {Name(i)} (pid {node.ProcessId?.ToString() ?? "-"}):\n{Tail(node.Output)}"));

    /// <summary>A, B, C... for node index <paramref name="index"/>.</summary>
    public static string Name(int index) => ((char)('A' + index)).ToString();

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }
    }

    /// <summary>
    /// The certificate status the node answers over OCSP for the nonce-less request <paramref name="request"/> (the
    /// bytes a gateway sends, so the node's cached answer is what is read): good, revoked or unknown; null when the
    /// node did not answer with a successful OCSP response. POST, or GET with <paramref name="useGet"/>.
    /// </summary>
    public static async Task<string?> OcspStatusAsync(HttpClient http, byte[] request, bool useGet = false)
    {
        using var content = new ByteArrayContent(request);
        content.Headers.ContentType = new("application/ocsp-request");
        // RFC 6960 appendix A.1: GET {url}/{url-encoding of base-64 encoding of the DER request}.
        using var response = useGet
            ? await http.GetAsync("ocsp/" + Uri.EscapeDataString(Convert.ToBase64String(request)))
            : await http.PostAsync("ocsp", content);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return null;
        }
        var reply = new OcspResp(await response.Content.ReadAsByteArrayAsync());
        if (reply.Status != OcspRespStatus.Successful || reply.GetResponseObject() is not BasicOcspResp basic || basic.Responses.Length != 1)
        {
            return null;
        }
        return basic.Responses[0].GetCertStatus() switch
        {
            null => "good",
            RevokedStatus => "revoked",
            _ => "unknown",
        };
    }

    /// <summary>A CRL as a node serves it at <paramref name="path"/>: the DER, its ETag, the CRL number and whether it lists <paramref name="serialNumber"/>.</summary>
    public static async Task<ServedCrl> GetCrlAsync(HttpClient http, string path, string serialNumber)
    {
        using var response = await http.GetAsync(path);
        response.EnsureSuccessStatusCode();
        var der = await response.Content.ReadAsByteArrayAsync();
        var crl = new X509CrlParser().ReadCrl(der);
        var number = Org.BouncyCastle.Asn1.DerInteger.GetInstance(
            Org.BouncyCastle.X509.Extension.X509ExtensionUtilities.FromExtensionValue(crl.GetExtensionValue(Org.BouncyCastle.Asn1.X509.X509Extensions.CrlNumber))).Value;
        return new ServedCrl(der, response.Headers.ETag?.Tag, number.LongValue, crl.GetRevokedCertificate(new BigInteger(serialNumber, 16)) is not null);
    }

    /// <summary>A P-256 CSR (PEM) for CN=<paramref name="name"/> with the SAN <c>spiffe://example.org/&lt;name&gt;</c>, made with .NET.</summary>
    public static string Csr(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var sans = new SubjectAlternativeNameBuilder();
        sans.AddUri(new Uri(SpiffeId(name)));
        request.CertificateExtensions.Add(sans.Build());
        return request.CreateSigningRequestPem();
    }

    public static string SpiffeId(string name) => $"spiffe://example.org/{name}";

    /// <summary>Runs <paramref name="sql"/> on the shared database and returns the first column of every row as text.</summary>
    public async Task<IReadOnlyList<string?>> QueryAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string?>();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.IsDBNull(0) ? null : Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture));
        }
        return rows;
    }

    /// <summary>p50 and max of <paramref name="values"/> (milliseconds), as text for a TIMING line.</summary>
    public static string Summary(IReadOnlyCollection<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? "no samples" : $"p50 {sorted[(sorted.Length - 1) / 2]:F0} ms, max {sorted[^1]:F0} ms over {sorted.Length}";
    }

    private static string Tail(string output) => output.Length <= 6000 ? output : "…" + output[^6000..];
}

/// <summary>A CRL as one node served it.</summary>
public sealed record ServedCrl(byte[] Der, string? ETag, long Number, bool ListsSerial);
