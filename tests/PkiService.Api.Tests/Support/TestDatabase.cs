using PkiService.Persistence.Postgres;
using PkiService.Persistence.Sqlite;

namespace PkiService.Api.Tests.Support;

/// <summary>
/// Which database provider a test host runs on. SQLite keeps its file in the host's data directory; PostgreSQL gets
/// one database per data directory on a real cluster, so a host restarted on the same directory (or a second host
/// given the same directory) finds the same database, and every fresh directory starts on an empty one.
/// </summary>
public sealed class TestDatabase
{
    private readonly Func<PostgresCluster>? _cluster;

    private TestDatabase(string provider, Func<PostgresCluster>? cluster)
    {
        Provider = provider;
        _cluster = cluster;
    }

    /// <summary>The embedded default.</summary>
    public static TestDatabase Sqlite { get; } = new(SqlitePkiDatabase.Name, null);

    /// <summary>PostgreSQL on the test process's shared cluster.</summary>
    public static TestDatabase Postgres { get; } = new(PostgresPkiDatabase.Name, () => PostgresCluster.Shared);

    /// <summary>PostgreSQL on a cluster of the test's own (one it may stop and start).</summary>
    public static TestDatabase OnCluster(PostgresCluster cluster) => new(PostgresPkiDatabase.Name, () => cluster);

    public string Provider { get; }

    public bool IsPostgres => _cluster is not null;

    /// <summary>The settings that point a host with <paramref name="dataDirectory"/> at its database (creating it on PostgreSQL).</summary>
    public IReadOnlyDictionary<string, string?> Settings(string dataDirectory)
    {
        if (_cluster is null)
        {
            return new Dictionary<string, string?> { ["Database:Provider"] = Provider };
        }
        var cluster = _cluster();
        var connectionString = cluster.EnsureDatabaseAsync(PostgresCluster.DatabaseNameFor(dataDirectory)).GetAwaiter().GetResult();
        return new Dictionary<string, string?>
        {
            ["Database:Provider"] = Provider,
            [PostgresPkiDatabase.ConnectionStringKey] = connectionString,
        };
    }

    /// <summary>An open ADO.NET connection to the database of the host with <paramref name="dataDirectory"/>, for tests that alter rows behind the service's back.</summary>
    public System.Data.Common.DbConnection Open(string dataDirectory)
    {
        System.Data.Common.DbConnection connection = _cluster is null
            ? new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dataDirectory, SqliteDatabase.FileName)};Pooling=False")
            : new Npgsql.NpgsqlConnection(Settings(dataDirectory)[PostgresPkiDatabase.ConnectionStringKey]);
        connection.Open();
        return connection;
    }

    public override string ToString() => Provider;
}
