using System.Globalization;
using PkiService.Benchmarks;

// Commands (all print "RESULT name=value" lines that ops/bench/run.sh reads):
//   expiry-scan [certificates]                       one expiry scan over N seeded certificates
//   sign-speed [seconds]                             raw .NET ECDSA P-256 signing, 1 thread and all cores
//   issue-speed [seconds]                            certificates per second from CSRs in process (no HTTP, no DB)
//   enroll-load <url> <data-dir> [clients] [seconds] enrollment end to end against a running service
//   bdn [BenchmarkDotNet arguments]                  the in-process BenchmarkDotNet suite, e.g. bdn --filter '*Ocsp*'
var command = args.FirstOrDefault() ?? "expiry-scan";
int Int(int index, int fallback) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
switch (command)
{
    case "expiry-scan":
        await ExpiryScanBenchmark.RunAsync(Int(1, 100_000));
        return 0;
    case "sign-speed":
        SpeedBenchmarks.SignSpeed(TimeSpan.FromSeconds(Int(1, 3)));
        return 0;
    case "issue-speed":
        SpeedBenchmarks.IssueSpeed(TimeSpan.FromSeconds(Int(1, 3)));
        return 0;
    case "bdn":
        // In-process toolchain: BenchmarkDotNet's generated projects would inherit this repository's central package
        // management and warnings-as-errors, and fail to build.
        BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(ExpiryScanBenchmark).Assembly)
            .Run(args[1..].Contains("--inProcess") ? args[1..] : [.. args[1..], "--inProcess"]);
        return 0;
    case "enroll-load" when args.Length >= 3:
        await EnrollmentLoad.RunAsync(new Uri(args[1]), args[2], Int(3, 32), TimeSpan.FromSeconds(Int(4, 30)));
        return 0;
    default:
        Console.Error.WriteLine("usage: expiry-scan [n] | sign-speed [s] | issue-speed [s] | enroll-load <url> <data-dir> [clients] [seconds] | bdn [args]");
        return 2;
}
