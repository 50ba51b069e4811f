using Microsoft.Extensions.Logging.Abstractions;
using PkiService.Core.Authorities;

namespace PkiService.Benchmarks.InProcess;

/// <summary>A throwaway CA hierarchy in a temporary directory for in-process benchmarks.</summary>
public sealed class BenchmarkCa : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "pki-bdn-" + Guid.NewGuid().ToString("N")[..8]);

    public BenchmarkCa()
    {
        Hierarchy = CaHierarchy.LoadOrCreate(new FileCaKeyProvider(new FileCaKeyStore(_directory), "bench", 1_000), new CaHierarchyOptions(), TimeProvider.System, NullLogger.Instance);
    }

    public CaHierarchy Hierarchy { get; }

    public void Dispose()
    {
        Hierarchy.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
