using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PkiService.Persistence.Postgres;
using PkiService.Persistence.Sqlite;

namespace PkiService.Persistence;

/// <summary>Chooses the database provider (<see cref="IPkiDatabase"/>) and registers <see cref="PkiDbContext"/> on it.</summary>
public static class PkiDatabaseRegistration
{
    /// <summary>The setting that names the provider. Unset or empty means <see cref="SqlitePkiDatabase.Name"/>.</summary>
    public const string ProviderKey = "Database:Provider";

    /// <summary>Longest part of a refused provider value repeated in the error line.</summary>
    private const int MaxEchoedLength = 40;

    /// <summary>
    /// Registers the provider named by <see cref="ProviderKey"/> and a pooled <see cref="PkiDbContext"/>. Pooled: a new
    /// context per request builds EF's per-context services every time (measured under enrollment load before pooling:
    /// about 7% of the service's CPU samples in DbContext.ContextServices alone). The provider is created on first use,
    /// once the configuration is complete; <paramref name="dataDirectory"/> gives the data directory's absolute path
    /// then. Resolving <see cref="IPkiDatabase"/> with an unknown provider throws <see cref="DatabaseConfigurationException"/>.
    /// </summary>
    public static IServiceCollection AddPkiDatabase(this IServiceCollection services, IConfiguration configuration, Func<IServiceProvider, string> dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(dataDirectory);
        services.AddSingleton(provider => Create(configuration[ProviderKey], dataDirectory(provider), configuration[PostgresPkiDatabase.ConnectionStringKey],
            provider.GetService<ILoggerFactory>()?.CreateLogger<PostgresPkiDatabase>()));
        services.AddDbContextPool<PkiDbContext>((provider, options) => provider.GetRequiredService<IPkiDatabase>().Configure(options));
        return services;
    }

    /// <summary>
    /// The provider <paramref name="providerName"/> names (case-insensitive); SQLite when it is unset or empty.
    /// <paramref name="connectionString"/> (<c>ConnectionStrings:Pki</c>) is read only for PostgreSQL.
    /// </summary>
    public static IPkiDatabase Create(string? providerName, string dataDirectory, string? connectionString = null, ILogger? logger = null)
    {
        if (string.IsNullOrWhiteSpace(providerName) || string.Equals(providerName.Trim(), SqlitePkiDatabase.Name, StringComparison.OrdinalIgnoreCase))
        {
            return new SqlitePkiDatabase(dataDirectory);
        }
        if (string.Equals(providerName.Trim(), PostgresPkiDatabase.Name, StringComparison.OrdinalIgnoreCase))
        {
            return new PostgresPkiDatabase(connectionString) { Logger = logger };
        }
        throw new DatabaseConfigurationException(
            $"{ProviderKey} '{Printable(providerName)}' is not a database provider this version supports; " +
            $"set it to '{SqlitePkiDatabase.Name}' (the default) or '{PostgresPkiDatabase.Name}', or leave it unset.");
    }

    /// <summary>The value as it can appear in a one-line message: control characters replaced, length bounded.</summary>
    private static string Printable(string value)
    {
        var text = new StringBuilder(Math.Min(value.Length, MaxEchoedLength + 1));
        foreach (var c in value.Trim().Take(MaxEchoedLength))
        {
            text.Append(char.IsControl(c) ? '?' : c);
        }
        return value.Trim().Length > MaxEchoedLength ? text.Append('…').ToString() : text.ToString();
    }
}
