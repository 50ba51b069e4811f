using PkiService.Api.Infrastructure;
using PkiService.Core.Audit;
using PkiService.Core.Authorities;
using PkiService.Persistence.Entities;

namespace PkiService.Api.Audit;

/// <summary>The audit trail's registrations, and the row shape its verifiers read.</summary>
public static class AuditServices
{
    /// <summary>Registers <see cref="AuditTrail"/> and the key its rows are MACed with.</summary>
    public static IServiceCollection AddAuditTrail(this IServiceCollection services)
    {
        services.AddScoped<AuditTrail>();
        // Derived from the key passphrase, salted with the root CA certificate's SHA-256 (so the CAs load first), once per
        // process; never stored, never logged. A PKCS#11 key store would register a key that lives in the module instead.
        services.AddSingleton<IAuditMacKey>(provider => PassphraseAuditMacKey.ForDeployment(
            provider.GetRequiredService<CaKeyVault>().Passphrase, provider.GetRequiredService<CaHierarchy>().Root.Der));
        return services;
    }

    /// <summary>The stored row as <see cref="AuditChainVerifier"/> reads it.</summary>
    public static AuditRow ToAuditRow(this AuditEventRecord row) => new(
        new AuditEntryContent(row.Id, new DateTimeOffset(DateTime.SpecifyKind(row.Time, DateTimeKind.Utc).AddTicks(row.TimeTicksBelowMicrosecond)),
            row.Actor, row.Action, row.Target, row.Outcome, row.ClientIp, row.Details),
        row.PreviousHash, row.Hash, row.Mac);
}
