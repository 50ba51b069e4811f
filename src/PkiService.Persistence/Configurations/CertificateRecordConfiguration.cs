using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using PkiService.Persistence.Entities;

namespace PkiService.Persistence.Configurations;

internal sealed class CertificateRecordConfiguration : IEntityTypeConfiguration<CertificateRecord>
{
    public void Configure(EntityTypeBuilder<CertificateRecord> builder)
    {
        builder.ToTable("Certificates");
        builder.HasKey(c => c.Id);
        builder.Property(c => c.SerialNumber).HasMaxLength(42);
        // RFC 5280 4.1.2.2: a serial is unique per issuer; we enforce it across the whole service.
        builder.HasIndex(c => c.SerialNumber).IsUnique();
        builder.HasIndex(c => new { c.Status, c.NotAfter });
        // Delta CRLs and the complete CRL's refresh after a revocation read only the revocations since a time: O(changes).
        builder.HasIndex(c => new { c.Status, c.RevokedAt });
        builder.Property(c => c.Status).HasConversion<string>().HasMaxLength(16);
    }
}

internal sealed class EnrollmentTokenRecordConfiguration : IEntityTypeConfiguration<EnrollmentTokenRecord>
{
    public void Configure(EntityTypeBuilder<EnrollmentTokenRecord> builder)
    {
        builder.ToTable("EnrollmentTokens");
        builder.HasKey(t => t.Id);
        builder.HasIndex(t => t.SecretHash).IsUnique();
    }
}

internal sealed class ApiKeyRecordConfiguration : IEntityTypeConfiguration<ApiKeyRecord>
{
    public void Configure(EntityTypeBuilder<ApiKeyRecord> builder)
    {
        builder.ToTable("ApiKeys");
        builder.HasKey(k => k.Id);
        builder.HasIndex(k => k.SecretHash).IsUnique();
    }
}

internal sealed class CrlNumberRecordConfiguration : IEntityTypeConfiguration<CrlNumberRecord>
{
    public void Configure(EntityTypeBuilder<CrlNumberRecord> builder)
    {
        builder.ToTable("CrlNumbers");
        builder.HasKey(n => n.IssuerFingerprint);
    }
}

internal sealed class ExpiryNotificationRecordConfiguration : IEntityTypeConfiguration<ExpiryNotificationRecord>
{
    public void Configure(EntityTypeBuilder<ExpiryNotificationRecord> builder)
    {
        builder.ToTable("ExpiryNotifications");
        builder.HasKey(n => n.Id);
        // One warning per (certificate, threshold, channel), however many scans race to record it.
        builder.HasIndex(n => new { n.CertificateId, n.Threshold, n.Channel }).IsUnique();
        builder.HasIndex(n => new { n.Status, n.NextAttemptAt });
        builder.Property(n => n.Status).HasConversion<string>().HasMaxLength(16);
        builder.HasOne<CertificateRecord>().WithMany().HasForeignKey(n => n.CertificateId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class AuditEventRecordConfiguration : IEntityTypeConfiguration<AuditEventRecord>
{
    public void Configure(EntityTypeBuilder<AuditEventRecord> builder)
    {
        builder.ToTable("AuditEvents");
        builder.HasKey(a => a.Id);
        // The appender assigns consecutive ids itself: the id is part of the hashed content.
        builder.Property(a => a.Id).ValueGeneratedNever();
        builder.HasIndex(a => a.Time);
    }
}

internal sealed class CaKeyRecordConfiguration : IEntityTypeConfiguration<CaKeyRecord>
{
    public void Configure(EntityTypeBuilder<CaKeyRecord> builder)
    {
        builder.ToTable("CaKeys");
        builder.HasKey(k => k.Name);
        builder.Property(k => k.Name).HasMaxLength(64);
    }
}

internal sealed class PublishedCrlRecordConfiguration : IEntityTypeConfiguration<PublishedCrlRecord>
{
    public void Configure(EntityTypeBuilder<PublishedCrlRecord> builder)
    {
        builder.ToTable("PublishedCrls");
        builder.HasKey(c => new { c.IssuerFingerprint, c.Kind });
        builder.Property(c => c.Kind).HasConversion<string>().HasMaxLength(16);
    }
}

internal sealed class LeaseRecordConfiguration : IEntityTypeConfiguration<LeaseRecord>
{
    public void Configure(EntityTypeBuilder<LeaseRecord> builder)
    {
        builder.ToTable("Leases");
        builder.HasKey(l => l.Name);
        builder.Property(l => l.Name).HasMaxLength(64);
        builder.Property(l => l.Holder).HasMaxLength(200);
    }
}

internal sealed class ServiceStateRecordConfiguration : IEntityTypeConfiguration<ServiceStateRecord>
{
    public void Configure(EntityTypeBuilder<ServiceStateRecord> builder)
    {
        builder.ToTable("ServiceState");
        builder.HasKey(s => s.Key);
        builder.Property(s => s.Key).HasMaxLength(64);
    }
}
