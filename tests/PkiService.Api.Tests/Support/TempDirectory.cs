using System.Collections.Concurrent;

namespace PkiService.Api.Tests.Support;

/// <summary>
/// Temporary data directories. They outlive a single host (restart tests hand one to the next host), so they are
/// deleted when the test process exits.
/// </summary>
public static class TempDirectory
{
    private static readonly ConcurrentBag<string> Created = [];

    static TempDirectory() => AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteAll();

    public static string Create()
    {
        var path = Path.Combine(Path.GetTempPath(), "pki-tests-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(path);
        Created.Add(path);
        return path;
    }

    private static void DeleteAll()
    {
        foreach (var path in Created)
        {
            try
            {
                Directory.Delete(path, recursive: true);
            }
            catch (IOException)
            {
                // still in use by a host that has not stopped: the OS temp cleaner gets it
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
