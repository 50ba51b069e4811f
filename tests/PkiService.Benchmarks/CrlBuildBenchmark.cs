using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using Microsoft.Extensions.Logging.Abstractions;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;
using PkiService.Core.Authorities;
using PkiService.Core.Primitives;
using PkiService.Core.Revocation;

namespace PkiService.Benchmarks;

/// <summary>
/// Builds and signs one complete CRL of N entries with the streaming <see cref="CrlWriter"/> (through
/// <see cref="CrlBuilder"/>) and with BouncyCastle's <c>X509V2CrlGenerator</c>, each in a fresh child process so that
/// its peak working set (VmHWM) is its own. Entries are generated on the fly (a fifth with an invalidity date, reasons
/// cycling), as the publisher streams them from the database.
/// </summary>
public static class CrlBuildBenchmark
{
    public const string ChildCommand = "crl-build-one";

    public static async Task RunAsync(int[] sizes)
    {
        Console.WriteLine($"{"implementation",-16} {"entries",10} {"build+sign",12} {"CPU time",12} {"peak WS",10} {"allocated",10} {"CRL size",10}");
        foreach (var size in sizes)
        {
            foreach (var implementation in new[] { "streaming", "bouncycastle" })
            {
                var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
                var entryAssembly = typeof(CrlBuildBenchmark).Assembly.Location;
                if (!Path.GetFileNameWithoutExtension(Environment.ProcessPath!).Equals(Path.GetFileNameWithoutExtension(entryAssembly), StringComparison.Ordinal))
                {
                    start.ArgumentList.Add(entryAssembly); // running under the dotnet host
                }
                start.ArgumentList.Add(ChildCommand);
                start.ArgumentList.Add(implementation);
                start.ArgumentList.Add(size.ToString(CultureInfo.InvariantCulture));
                using var child = Process.Start(start)!;
                var line = await child.StandardOutput.ReadToEndAsync();
                await child.WaitForExitAsync();
                Console.Write(line);
            }
        }
    }

    /// <summary>One measurement, in this process: prints one row of the table.</summary>
    public static void RunOne(string implementation, int entries)
    {
        var directory = Path.Combine(Path.GetTempPath(), "pki-crl-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        try
        {
            using var hierarchy = CaHierarchy.LoadOrCreate(new FileCaKeyProvider(new FileCaKeyStore(directory), "benchmark", 1_000), new CaHierarchyOptions(), TimeProvider.System, NullLogger.Instance);
            var ca = hierarchy.Issuing;
            var now = DateTimeOffset.UtcNow;
            var thisUpdate = new DateTimeOffset(now.Ticks - now.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
            Build(implementation, ca, 64, thisUpdate); // warm up the JIT and the signer
            GC.Collect();
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);

            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            var der = Build(implementation, ca, entries, thisUpdate);
            var elapsed = watch.Elapsed;
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;

            var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            Console.WriteLine($"{implementation,-16} {entries,10:N0} {elapsed.TotalMilliseconds,9:F0} ms {cpu.TotalMilliseconds,9:F0} ms {PeakWorkingSetMegabytes(),7:F0} MB {allocated / 1048576.0,7:F0} MB {der.Length / 1048576.0,7:F1} MB");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static byte[] Build(string implementation, CertificateAuthority ca, int entries, DateTimeOffset thisUpdate) => implementation switch
    {
        "streaming" => new CrlBuilder(ca).Build(new BigInteger(entries), thisUpdate, thisUpdate.AddDays(1), Entries(entries, thisUpdate)).Der,
        "bouncycastle" => BuildWithBouncyCastle(ca, entries, thisUpdate),
        // Baseline: only generates the input, so its cost can be told apart from the builders'.
        "input-only" => [(byte)Entries(entries, thisUpdate).Count()],
        _ => throw new ArgumentException($"unknown implementation '{implementation}'; use streaming or bouncycastle"),
    };

    /// <summary>What <c>CrlBuilder</c> did before the streaming writer: BouncyCastle's generator, signed through .NET.</summary>
    private static byte[] BuildWithBouncyCastle(CertificateAuthority ca, int entries, DateTimeOffset thisUpdate)
    {
        var generator = new X509V2CrlGenerator();
        generator.SetIssuerDN(ca.Subject);
        generator.SetThisUpdate(thisUpdate.UtcDateTime);
        generator.SetNextUpdate(thisUpdate.AddDays(1).UtcDateTime);
        foreach (var entry in Entries(entries, thisUpdate))
        {
            var extensions = new X509ExtensionsGenerator();
            if (entry.Reason != RevocationReason.Unspecified)
            {
                extensions.AddExtension(X509Extensions.ReasonCode, false, new CrlReason(entry.Reason.ToCrlReasonCode()));
            }
            if (entry.InvalidityDate is { } invalidity)
            {
                extensions.AddExtension(X509Extensions.InvalidityDate, false, new DerGeneralizedTime(invalidity.UtcDateTime));
            }
            generator.AddCrlEntry(entry.SerialNumber.ToBouncyCastle(), entry.RevocationDate.UtcDateTime, extensions.IsEmpty ? null : extensions.Generate());
        }
        generator.AddExtension(X509Extensions.AuthorityKeyIdentifier, false, new AuthorityKeyIdentifier(ca.SubjectKeyIdentifier));
        generator.AddExtension(X509Extensions.CrlNumber, false, new CrlNumber(Org.BouncyCastle.Math.BigInteger.ValueOf(entries)));
        return generator.Generate(ca.SignatureFactory).GetEncoded();
    }

    /// <summary>N distinct 16-octet serials in no particular order, revoked over the last N minutes.</summary>
    private static IEnumerable<RevokedCertificate> Entries(int count, DateTimeOffset now)
    {
        var serial = new byte[SerialNumber.RandomOctets];
        for (var i = 0; i < count; i++)
        {
            // A bijective scramble of i keeps serials distinct and unsorted without a set to check them.
            var scrambled = (uint)i * 2654435761u;
            BitConverter.TryWriteBytes(serial.AsSpan(0, 4), scrambled);
            BitConverter.TryWriteBytes(serial.AsSpan(4, 4), i);
            serial[0] |= 0x40;
            var reason = RevocationReasons.All[i % RevocationReasons.All.Count];
            DateTimeOffset? invalidity = i % 5 == 0 ? now.AddDays(-1) : null;
            yield return new RevokedCertificate(SerialNumber.FromUnsignedBytes(serial), now.AddMinutes(-(i % 100_000)), reason, invalidity);
        }
    }

    /// <summary>Linux VmHWM: the most resident memory this process ever had.</summary>
    private static double PeakWorkingSetMegabytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
            }
        }
        return Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0;
    }
}
