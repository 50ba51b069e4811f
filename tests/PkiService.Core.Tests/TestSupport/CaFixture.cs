using Microsoft.Extensions.Logging.Abstractions;
using PkiService.Core.Authorities;

namespace PkiService.Core.Tests.TestSupport;

/// <summary>A throwaway root + issuing CA, created once per test class with real keys.</summary>
public sealed class CaFixture : IDisposable
{
    public const string Passphrase = "test passphrase";

    public CaFixture()
    {
        // The real clock, truncated, so openssl's validity checks agree with what the tests pinned.
        var now = DateTimeOffset.UtcNow;
        Now = new DateTimeOffset(now.Ticks - now.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
        Store = new InMemoryCaKeyStore();
        Hierarchy = CreateHierarchy(Store, Now);
    }

    /// <summary>The instant every test's clock starts at.</summary>
    public DateTimeOffset Now { get; }

    public InMemoryCaKeyStore Store { get; }

    public CaHierarchy Hierarchy { get; }

    public CertificateAuthority Root => Hierarchy.Root;

    public CertificateAuthority Issuing => Hierarchy.Issuing;

    public FixedTimeProvider Clock() => new(Now);

    /// <summary>A second, unrelated hierarchy (same names, different keys): a CA this service does not hold.</summary>
    public static CaHierarchy CreateHierarchy(ICaKeyStore store, DateTimeOffset now) =>
        CaHierarchy.LoadOrCreate(
            new FileCaKeyProvider(store, Passphrase, 1_000),
            new CaHierarchyOptions(),
            new FixedTimeProvider(now),
            NullLogger.Instance);

    public void Dispose() => Hierarchy.Dispose();
}
