using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using PkiService.Persistence.Entities;

namespace PkiService.Persistence;

/// <summary>The service's database: issued certificates, enrollment tokens, API keys, CRL numbers, the expiry-warning outbox, the audit chain and, for a cluster, the CA keys, published CRLs and leases.</summary>
public sealed class PkiDbContext(DbContextOptions<PkiDbContext> options) : DbContext(options)
{
    public DbSet<CertificateRecord> Certificates => Set<CertificateRecord>();

    public DbSet<EnrollmentTokenRecord> EnrollmentTokens => Set<EnrollmentTokenRecord>();

    public DbSet<ApiKeyRecord> ApiKeys => Set<ApiKeyRecord>();

    public DbSet<CrlNumberRecord> CrlNumbers => Set<CrlNumberRecord>();

    public DbSet<ExpiryNotificationRecord> ExpiryNotifications => Set<ExpiryNotificationRecord>();

    public DbSet<AuditEventRecord> AuditEvents => Set<AuditEventRecord>();

    /// <summary>CA and OCSP responder certificates with their encrypted keys (used when the database is shared by several nodes).</summary>
    public DbSet<CaKeyRecord> CaKeys => Set<CaKeyRecord>();

    /// <summary>The CRLs every node serves (used when the database is shared by several nodes).</summary>
    public DbSet<PublishedCrlRecord> PublishedCrls => Set<PublishedCrlRecord>();

    /// <summary>Jobs one node runs at a time (the CRL builder).</summary>
    public DbSet<LeaseRecord> Leases => Set<LeaseRecord>();

    /// <summary>Small facts every node must agree on.</summary>
    public DbSet<ServiceStateRecord> ServiceState => Set<ServiceStateRecord>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(PkiDbContext).Assembly);

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // All times are UTC. SQLite keeps them as ISO 8601 text, which sorts and compares correctly; PostgreSQL as
        // 'timestamp with time zone', which Npgsql writes only from DateTimeKind.Utc values. The converter makes every
        // value UTC on the way in and restores DateTimeKind.Utc on the way back.
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
    }

    private sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(
        value => value.Kind == DateTimeKind.Utc ? value : value.ToUniversalTime(),
        value => DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
